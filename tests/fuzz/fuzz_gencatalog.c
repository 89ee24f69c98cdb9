/* fuzz_gencatalog.c: the demo catalog parser (gen_catalog_parse) never
 * crashes, and what it accepts holds together: every film has an id, a
 * title, known genres and a year in range, and ids are unique. The first
 * input byte chooses whether the valid header is put in front, so the fuzzer
 * spends its time on rows rather than on rediscovering the header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recsys-gen/gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 65536)
        return 0;
    int with_header = data[0] & 1;
    data++;
    size--;
    size_t hl = with_header ? strlen(GEN_CATALOG_HEADER "\n") : 0;
    char *buf = malloc(hl + size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, GEN_CATALOG_HEADER "\n", hl);
    memcpy(buf + hl, data, size);
    gen_catalog_t cat;
    err_t err;
    if (gen_catalog_parse(&cat, buf, hl + size, "items.csv", &err) == 0) {
        if (cat.n == 0 || cat.len != hl + size || memcmp(cat.text, buf, cat.len) != 0)
            abort();
        for (size_t i = 0; i < cat.n; i++) {
            const gen_film_t *f = &cat.films[i];
            if (f->id[0] == '\0' || f->title[0] == '\0' || f->genre_mask == 0 ||
                f->genre_mask >= (1u << GEN_NGENRES) || f->year < 1870 || f->year > 2100)
                abort();
            if (gen_genre_index(f->genres, strcspn(f->genres, "|")) < 0)
                abort();
            for (size_t j = 0; j < i && j < 64; j++)
                if (strcmp(cat.films[j].id, f->id) == 0)
                    abort();
        }
        gen_catalog_free(&cat);
    } else if (err.msg[0] == '\0' || strncmp(err.msg, "items.csv", 9) != 0) {
        abort(); /* every error names the file */
    }
    free(buf);
    return 0;
}
