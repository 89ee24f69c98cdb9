/*
 * content_service.h: recsys-content serve: the content model behind the
 * shared worker skeleton (common/net/workersvc.h).
 *
 * This file is only the model-specific part: a workersvc_ops_t whose load()
 * maps a model file (--model FILE, or DIR/content.model) or, when --model is
 * empty, builds the model from --data DIR; whose handle() answers the
 * internal requests on a read-only model; and whose info()/memory() describe
 * it. Everything else (nng, admin port, metrics, SIGHUP swap, SIGTERM drain)
 * is the skeleton's.
 *
 * Requests (recsys.v1.WorkerRequest), and how each is answered:
 *
 *  similar  item_id, k in [1, max-k], filters (genres, year range,
 *           exclude_item_ids; include_seen is meaningless here). The item
 *           itself is never returned; only items with a positive similarity
 *           are, so fewer than k may come back. An unknown item_id is
 *           NOT_FOUND naming the id.
 *  score    history (the content model has no users: an empty history is
 *           INVALID_ARGUMENT, even with a user_id). Events with a rating > 0
 *           are rated; a rating of 0 is an implicit positive (view, click,
 *           like, unspecified) of weight 1, except DISLIKE without a rating,
 *           which counts as the rating FEEDBACK_DISLIKE_RATING. Negative
 *           events (common/data/feedback.h: rating <= 2, DISLIKE) weigh
 *           against their neighbours in the profile (content_model.h) and
 *           are never a because_item_id; they are seen. The history is in
 *           the order things happened (the gateway: the user's stored
 *           ratings, then the new events); per item only one event counts
 *           (common/data/histmerge.h): the latest rated one, else the latest
 *           implicit one. History items the
 *           model does not know are skipped and listed in unknown_item_ids;
 *           when no history item is known the answer is an empty list (not
 *           an error), so a caller can fall back. history_used = events that
 *           went into the profile. Without candidates: top k (k in [1,
 *           max-k]) over all items, history excluded unless
 *           filters.include_seen; as in the library, items sharing no term
 *           with the profile score 0 and may fill the tail of the list. With candidate_item_ids: those candidates
 *           ranked (k = 0: all of them; k > 0: the best k), unknown
 *           candidates also listed in unknown_item_ids (after the unknown
 *           history ids). explain: because_item_id = the history item that
 *           contributed most to the score (empty when none did).
 *  items    item_ids: look-up (known ones in request order; unknown ones in
 *           unknown_item_ids), or query: title search, case-insensitive
 *           (Python str.lower()), titles starting with the query first, then
 *           titles containing it, each group in catalog order, at most k in
 *           [1, max-k]. Items carry id, title, year and genres (in the
 *           catalog's genre order; the model holds no more of the catalog).
 *  predict  INVALID_ARGUMENT: the content model does not predict ratings.
 *
 * Filters: genre names match case-insensitively; unknown genre names are
 * ignored, but when every name given is unknown nothing can match and the
 * answer is empty. Unknown exclude ids are ignored. year_min > year_max (both
 * set) is INVALID_ARGUMENT. Limits (INVALID_ARGUMENT with the field and the
 * limit in the message): k, list lengths (max-history for history,
 * max-candidates for candidates, look-up ids and exclusions; 64 genres) and
 * string lengths (ids, genre names and queries of at most
 * CONTENT_SERVICE_MAX_STR bytes).
 *
 * Working memory: each loaded model carries a small pool of
 * content_scratch_t (one per thread that has used it, taken and returned
 * under a mutex), so a request allocates only from its arena once the pool
 * has warmed up.
 */
#ifndef RECSYS_SERVICES_CONTENT_SERVICE_H
#define RECSYS_SERVICES_CONTENT_SERVICE_H

#include <stdint.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/workersvc.h"
#include "services/content/content_model.h"

#define CONTENT_SERVICE_MAX_STR 512
#define CONTENT_SERVICE_MAX_GENRES 64
/* The file looked for when --model names a directory. */
#define CONTENT_SERVICE_MODEL_FILE "content.model"

/* listen, admin-port, model, max-k, max-history, max-candidates. */
extern const cfg_option_t content_service_options[];

/* The ops for workersvc_serve(); their model is a content_service_t. */
extern const workersvc_ops_t content_service_ops;

/* Adds every option serve needs: the table above (through
 * workersvc_add_options, with the skeleton's own), dataset_options and
 * content_options. */
int content_service_add_options(cfg_t *cfg, err_t *err);

typedef struct content_service_limits {
    uint32_t max_k, max_history, max_candidates;
} content_service_limits_t;

typedef struct content_service content_service_t;

/* Wraps a model (taking over the caller's reference) for handle(): tests
 * and embedders that built a model themselves. source is what info reports
 * as data_source. NULL with err set on failure (the model is released). */
content_service_t *content_service_new(content_model_t *m, const content_service_limits_t *lim,
                                       const char *source, err_t *err);
void content_service_free(content_service_t *s);
const content_model_t *content_service_model(const content_service_t *s);

#endif
