#include "config.h"

#include "unit.h"

int
test_name_register(void)
{
	return CU_add_suite("name", NULL, NULL) == NULL ? -1 : 0;
}
