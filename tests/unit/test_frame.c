#include "config.h"

#include "unit.h"

int
test_frame_register(void)
{
	return CU_add_suite("frame", NULL, NULL) == NULL ? -1 : 0;
}
