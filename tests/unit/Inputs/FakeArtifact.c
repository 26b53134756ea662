/* Shared objects that look like attnc artifacts but that the runtime must
 * refuse (RuntimeArtifactTest.cpp): FAKE_VARIANT 1 has a future format
 * version, 2 needs an ISA level that does not exist, 3 a CPU feature the
 * runtime cannot check, 4 a good manifest but a future entry-point ABI. */
#include <stdint.h>

#if FAKE_VARIANT == 1
#define FORMAT "99"
#define LEVEL "x86-64"
#define FEATURES ""
#define ABI 1
#elif FAKE_VARIANT == 2
#define FORMAT "1"
#define LEVEL "x86-64-v9"
#define FEATURES ""
#define ABI 1
#elif FAKE_VARIANT == 3
#define FORMAT "1"
#define LEVEL "x86-64"
#define FEATURES "\"avx10.2-512\""
#define ABI 1
#else
#define FORMAT "1"
#define LEVEL "x86-64"
#define FEATURES ""
#define ABI 7
#endif

const char attnc_manifest[] =
    "{\"format_version\": " FORMAT ", \"abi_version\": 1, \"target\": "
    "{\"kind\": \"cpu\", \"arch\": \"x86_64\", \"cpu\": \"fakecpu\", "
    "\"requested_cpu\": \"fakecpu\", \"isa_level\": \"" LEVEL "\", "
    "\"features\": [" FEATURES "]}, \"entry_points\": [], \"weights\": []}";
const uint64_t attnc_manifest_size = sizeof(attnc_manifest) - 1;
const uint32_t attnc_abi_version = ABI;
