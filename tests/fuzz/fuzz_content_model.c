/* fuzz_content_model.c: content_model_load_mem over any bytes never
 * crashes, and a model it accepts is safe to query.
 *
 * The first input byte picks the mode: even = the rest as is (checksums
 * must reject a mutation); odd = the rest with every locatable checksum
 * recomputed first (modelfile_fix_checksums), so mutations reach the
 * content model's own structural checks (offsets, vector and index shapes,
 * neighbour lists, id order). An accepted model is then read through the
 * public API: every item's strings, vector and neighbours, id look-ups,
 * similar items and history scoring on a few items, as the service would.
 * Seeds: tiny valid model files (tests/fuzz/corpus/content_model/). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/modelfile.h"
#include "services/content/content_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void query(const content_model_t *m)
{
    uint32_t n = content_model_size(m);
    if (n == 0)
        return;
    content_scratch_t *s = content_scratch_new();
    content_hit_t hits[8];
    err_t err;
    uint32_t probe = n < 4 ? n : 4;
    for (uint32_t i = 0; i < probe; i++) {
        filter_t f = {0};
        if (content_similar(m, i, 3, &f, s, hits, &err) < 0)
            continue;
        (void)content_similar(m, i, 8, &f, s, hits, &err); /* past the stored lists */
    }
    content_event_t ev[2] = {{0, 5.0f}, {n - 1, NAN}};
    content_query_t q = {.k = 8};
    (void)content_score_history(m, ev, 2, &q, s, hits, &err);
    uint32_t cand[3] = {0, n / 2, n - 1};
    q.candidates = cand;
    q.n_candidates = 3;
    (void)content_score_history(m, ev, 1, &q, s, hits, &err);
    content_scratch_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    int fix = data[0] & 1;
    size_t len = size - 1;
    unsigned char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    if (fix)
        modelfile_fix_checksums(buf, len);
    content_model_t *m;
    err_t err;
    if (content_model_load_mem(buf, len, "fuzz.model", &m, &err) == 0) {
        volatile size_t sum = 0;
        uint32_t n = content_model_size(m);
        for (uint32_t i = 0; i < n; i++) {
            const char *id = content_model_id(m, i);
            sum += strlen(id) + strlen(content_model_title(m, i)) + (size_t)content_model_year(m, i);
            if (content_model_find(m, id, strlen(id)) == CONTENT_NONE)
                abort(); /* every stored id must be found again */
            sum += (size_t)content_model_genre_mask(m, i);
            sparse_view_t v = content_model_vector(m, i);
            for (size_t a = 0; a < v.nnz; a++)
                sum += (size_t)content_model_term_df(m, v.idx[a]);
            const uint32_t *idx;
            const float *sc;
            uint32_t nn;
            content_model_neighbours(m, i, &idx, &sc, &nn);
            for (uint32_t r = 0; r < nn; r++)
                sum += strlen(content_model_id(m, idx[r]));
        }
        for (uint32_t g = 0; g < content_model_ngenres(m); g++)
            sum += strlen(content_model_genre_name(m, g));
        for (uint32_t t = 0; t < content_model_nterms(m); t++)
            sum += strlen(content_model_term(m, t));
        sum += strlen(content_model_version(m));
        (void)sum;
        query(m);
        content_model_release(m);
    }
    free(buf);
    return 0;
}
