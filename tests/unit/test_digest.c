#include "config.h"

#include "unit.h"

int
test_digest_register(void)
{
	return CU_add_suite("digest", NULL, NULL) == NULL ? -1 : 0;
}
