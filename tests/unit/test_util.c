#include "config.h"

#include "unit.h"

int
test_util_register(void)
{
	return CU_add_suite("util", NULL, NULL) == NULL ? -1 : 0;
}
