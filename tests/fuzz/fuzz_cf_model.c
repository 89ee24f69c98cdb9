/* fuzz_cf_model.c: loading any bytes as a CF model file never crashes, and
 * a model that loads answers the worker's requests without crashing.
 *
 * cf_io reads model files by path only, so the input is written to a memfd
 * and loaded through /proc/self/fd/N (the same mmap path as a real file).
 * The first input byte picks the mode, as in fuzz_modelfile: even = the
 * rest as is (checksums must reject mutations); odd = every locatable
 * checksum recomputed first, so mutations reach cf_io's own checks (kinds,
 * sizes, section types and counts, the history matrix's structure).
 * Accepted models are served through cf_service_ops.handle (score for a
 * known user and for a history, candidates, similar, predict) or, without
 * item ids, through the library calls directly. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/wire/modelfile.h"
#include "services/cf/cf_service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handle(const cf_service_t *s, Recsys__V1__WorkerRequest *req)
{
    Recsys__V1__WorkerReply reply = RECSYS__V1__WORKER_REPLY__INIT;
    arena_t arena;
    arena_init(&arena);
    err_t err;
    err_clear(&err);
    (void)cf_service_ops.handle(s, req, &reply, &arena, &err);
    /* Whatever came back must pack (ids point into the model). */
    size_t n = recsys__v1__worker_reply__get_packed_size(&reply);
    uint8_t *buf = malloc(n ? n : 1);
    recsys__v1__worker_reply__pack(&reply, buf);
    free(buf);
    arena_free(&arena);
}

static void serve(const cf_service_t *s)
{
    const cf_model_t *m = cf_service_model(s);
    char *item0 = m->n_items ? (char *)idmap_key(m->item_ids, 0, NULL) : "x";
    char *user0 = m->user_ids && m->n_users ? (char *)idmap_key(m->user_ids, 0, NULL) : "";
    Recsys__V1__HistoryEvent ev = RECSYS__V1__HISTORY_EVENT__INIT, *evp = &ev;
    ev.item_id = item0;
    ev.rating = 3;
    char *cands[] = {item0, "nope"};

    Recsys__V1__WorkerRequest req = RECSYS__V1__WORKER_REQUEST__INIT;
    Recsys__V1__WorkerScoreRequest sc = RECSYS__V1__WORKER_SCORE_REQUEST__INIT;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SCORE;
    req.score = &sc;
    sc.user_id = user0;
    sc.k = 5;
    sc.explain = 1;
    handle(s, &req);
    sc.history = &evp;
    sc.n_history = 1;
    handle(s, &req);
    sc.candidate_item_ids = cands;
    sc.n_candidate_item_ids = 2;
    sc.k = 0;
    handle(s, &req);

    Recsys__V1__WorkerSimilarRequest si = RECSYS__V1__WORKER_SIMILAR_REQUEST__INIT;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR;
    req.similar = &si;
    si.item_id = item0;
    si.k = 5;
    handle(s, &req);

    Recsys__V1__WorkerPredictRequest pr = RECSYS__V1__WORKER_PREDICT_REQUEST__INIT;
    req.body_case = RECSYS__V1__WORKER_REQUEST__BODY_PREDICT;
    req.predict = &pr;
    pr.user_id = user0;
    pr.history = &evp;
    pr.n_history = 1;
    pr.item_ids = cands;
    pr.n_item_ids = 2;
    handle(s, &req);
}

/* Without item ids the service refuses the model: call the library. */
static void score_direct(const cf_model_t *m)
{
    if (m->n_items == 0)
        return;
    cf_scratch_t *sc = cf_scratch_new();
    topk_item_t top[5];
    err_t err;
    cf_event_t ev = {0, 3.0f};
    cf_who_t who = {m->n_users ? 0 : CF_NO_USER, &ev, 1};
    (void)cf_recommend(m, sc, &who, NULL, 5, top, NULL, &err);
    (void)cf_similar(m, sc, 0, NULL, 5, top, &err);
    float r;
    uint32_t it = 0;
    (void)cf_predict(m, sc, &who, &it, 1, &r, &err);
    (void)cf_explain(m, sc, &who, 0);
    cf_scratch_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    size_t len = size - 1;
    unsigned char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    if (data[0] & 1)
        modelfile_fix_checksums(buf, len);
    int fd = memfd_create("fuzz_cf_model", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (len && write(fd, buf, len) != (ssize_t)len)
        abort();
    free(buf);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cf_model_t *m = NULL;
    err_t err;
    if (cf_model_load(path, &m, &err) == 0) {
        if (m->item_ids) {
            cf_model_t *mf = m->kind == CF_KIND_MF ? cf_model_retain(m) : NULL;
            static const cf_service_limits_t lim = {100, 100, 100, 4.0f};
            cf_service_t *s = cf_service_new(m, mf, NULL, &lim, "fuzz", &err);
            if (s)
                serve(s);
            cf_service_free(s);
        } else {
            score_direct(m);
            cf_model_release(m);
        }
    } else if (err.msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    close(fd);
    return 0;
}
