/* fuzz_modelfile.c: validating any bytes as a model file never crashes.
 *
 * The first input byte picks the mode: even = the rest as is (checksums must
 * reject it); odd = the rest with every locatable checksum recomputed first
 * (modelfile_fix_checksums), so random mutations reach the structural checks
 * (bounds, overflow, overlaps, names, metadata) instead of dying at the CRC.
 * Accepted files are then read through the whole public API. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/modelfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    int fix = data[0] & 1;
    size_t len = size - 1;
    /* An exact-size heap copy: ASan catches any read past the end. */
    unsigned char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    if (fix)
        modelfile_fix_checksums(buf, len);
    modelfile_t *mf;
    err_t err;
    if (modelfile_open_mem(buf, len, "fuzz.bin", &mf, &err) == 0) {
        volatile unsigned sum = 0;
        (void)modelfile_kind(mf);
        (void)modelfile_model_version(mf);
        for (size_t i = 0; i < modelfile_nsections(mf); i++) {
            modelfile_section_info_t info;
            if (modelfile_section_at(mf, i, &info) != 0)
                abort();
            const void *p;
            uint64_t n;
            if (modelfile_section(mf, info.name, info.type, &p, &n, &err) != 0 || p != info.data ||
                ((uintptr_t)p % MODELFILE_ALIGN) != 0)
                abort();
            const unsigned char *b = p;
            for (uint64_t j = 0; j < info.length; j++)
                sum += b[j];
        }
        for (size_t i = 0; i < modelfile_meta_count(mf); i++) {
            const char *k, *v;
            if (modelfile_meta_at(mf, i, &k, &v) != 0 || modelfile_meta(mf, k) == NULL)
                abort();
            sum += (unsigned)strlen(v);
        }
        (void)sum;
        modelfile_close(mf);
    }
    free(buf);
    return 0;
}
