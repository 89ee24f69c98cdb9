/* fuzz_csv.c: the csv reader never crashes and every slice it returns is
 * readable, over arbitrary bytes with each separator and quoting mode.
 * The first byte picks the separator (',', '\t', '|', "::") and quoting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const seps[] = {",", "\t", "|", "::"};
    if (size < 1 || size > 1 << 16)
        return 0;
    csv_opts_t o = {seps[data[0] & 3], (data[0] & 4) != 0};
    /* A private copy, so reads past the end are caught by ASan. */
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    err_t err;
    csv_reader_t *r = csv_open_buffer("fuzz.csv", buf, len, &o, &err);
    if (r == NULL)
        abort();
    unsigned sum = 0;
    uint64_t last_line = 0;
    int rc;
    while ((rc = csv_next(r, &err)) == 1) {
        size_t n = csv_nfields(r);
        if (n == 0 || csv_line(r) <= last_line)
            abort(); /* a row has a field; rows move forward */
        last_line = csv_line(r);
        for (size_t i = 0; i < n; i++) {
            csv_field_t f = csv_field(r, i);
            for (size_t k = 0; k < f.len; k++)
                sum += (unsigned char)f.ptr[k];
        }
        (void)csv_expect(r, 4, &err);
    }
    if (rc == -1 && strncmp(err.msg, "fuzz.csv:", 9) != 0)
        abort(); /* errors name the input */
    csv_close(r);
    free(buf);
    return (int)(sum & 0);
}
