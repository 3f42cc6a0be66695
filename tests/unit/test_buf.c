#include "config.h"

#include "unit.h"

int
test_buf_register(void)
{
	return CU_add_suite("buf", NULL, NULL) == NULL ? -1 : 0;
}
