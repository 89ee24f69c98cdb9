/*
 * cf_service.h: recsys-cf serve: the CF models behind the shared worker
 * skeleton (common/net/workersvc.h).
 *
 * Only the model-specific part lives here: a workersvc_ops_t whose load()
 * maps a model file (--model FILE, or DIR/cf.model) or, when --model is
 * empty, trains from --data DIR (cf-model auto|als|ease|mf|pop); whose
 * handle() answers the internal requests on a read-only model; whose
 * info()/memory() describe it. nng, the admin port, metrics, SIGHUP swap and
 * SIGTERM drain are the skeleton's.
 *
 * What a served model holds:
 *   main     the ranking model (score, similar);
 *   predict  an mf model for rating prediction: the main one when it is mf,
 *            else (cf-predict-model auto) one trained alongside when the
 *            worker trains from --data, or a file given as cf-predict-model;
 *            none with cf-predict-model none or when --model is served
 *            without one;
 *   genres   the names of the genre bits, from the dataset's catalog (the
 *            model file stores genre masks, not names): present when
 *            training, or when --data DIR is given next to --model (the
 *            catalog is then loaded without ratings and must list the
 *            model's items in the model's order).
 *
 * Requests (recsys.v1.WorkerRequest), and how each is answered:
 *
 *  score    user_id (known: its training history; unknown: ignored, not an
 *           error) and/or history events in the order they happened
 *           (folded in). Per item one thing counts (common/data/histmerge.h):
 *           its latest explicit event (rating > 0), which overrides the
 *           stored rating; else the stored rating, untouched by implicit
 *           events; else its latest implicit event. Event values: rating > 0 is the
 *           rating; a rating of 0 is an implicit positive taken as
 *           cf-implicit-rating (view, click, like, unspecified), except
 *           DISLIKE without a rating: negative feedback
 *           (common/data/feedback.h), folded in as the rating
 *           FEEDBACK_DISLIKE_RATING on a model with a rating scale, only
 *           seen on an implicit one. Negative items (ratings <= 2, dislikes)
 *           are evidence against their neighbours (cf_score.c) and never
 *           an explanation. History items the model does not know are skipped and
 *           listed in unknown_item_ids. With no usable history at all the
 *           answer is popularity (restricted by the genre/year filters:
 *           popularity by genre), history_used 0.
 *           Without candidates: top k (k in [1, max-k]), seen items
 *           excluded unless filters.include_seen. With candidate_item_ids:
 *           exactly those (the caller chose them: filters do not apply),
 *           ranked best first (k = 0: all of them, k > 0: the best k);
 *           unknown candidates are listed in unknown_item_ids after the
 *           unknown history ids. history_used = distinct history items the
 *           model used. explain: because_item_id = the history item that
 *           contributed most to the item's score (empty when none did, e.g.
 *           popularity answers).
 *           Cold items: with cf-cold-items (default) and a model holding
 *           genres, items the feature map (services/cf/cf_features.h) does
 *           not count as warm are scored through it (the CF score of an item
 *           with their genres and year), so unrated films can be
 *           recommended; warm items keep the model's score. Not for
 *           popularity answers (empty history).
 *  similar  item_id, k in [1, max-k], filters (genres, years, exclusions;
 *           include_seen is meaningless). The item itself is never
 *           returned. An unknown item_id is NOT_FOUND naming the id.
 *  predict  item_ids (1 .. max-candidates) for user_id and/or history, by
 *           the predict model; one rating per requested item, in request
 *           order, clipped to the training range. An unknown item gets the
 *           model's global mean and is listed in unknown_item_ids. Without
 *           a predict model: INVALID_ARGUMENT saying how to get one.
 *  items    INVALID_ARGUMENT: the catalog belongs to the content worker and
 *           the gateway; the CF worker knows items only as ids.
 *
 * Filters: genre names match case-insensitively; unknown names are
 * ignored, but when every name given is unknown nothing can match and the
 * answer is empty. A genre filter on a model served without genre names is
 * INVALID_ARGUMENT. Unknown exclude ids are ignored. year_min > year_max
 * (both set) is INVALID_ARGUMENT. Limits (INVALID_ARGUMENT naming the field
 * and the limit): k, max-history events, max-candidates candidates,
 * predicted items and exclusions, 64 genres, strings of at most
 * CF_SERVICE_MAX_STR bytes.
 *
 * Working memory: each served model carries a pool of cf_scratch_t (one per
 * thread that used it, taken and returned under a mutex); request lists
 * come from the request's arena.
 */
#ifndef RECSYS_SERVICES_CF_SERVICE_H
#define RECSYS_SERVICES_CF_SERVICE_H

#include <stdint.h>

#include "common/data/catalog.h"
#include "common/base/config.h"
#include "common/data/dataset.h"
#include "common/base/err.h"
#include "common/net/workersvc.h"
#include "services/cf/cf_features.h"
#include "services/cf/cf_model.h"

#define CF_SERVICE_MAX_STR 512
#define CF_SERVICE_MAX_GENRES 64
/* The file looked for when --model names a directory. */
#define CF_SERVICE_MODEL_FILE "cf.model"

/* listen, admin-port, model, cf-predict-model, cf-implicit-rating,
 * cf-cold-items, max-k, max-history, max-candidates. */
extern const cfg_option_t cf_service_options[];

/* The ops for workersvc_serve(); their model is a cf_service_t. */
extern const workersvc_ops_t cf_service_ops;

/* Adds every option serve needs: the table above (through
 * workersvc_add_options, with the skeleton's own), dataset_options and
 * cf_options. */
int cf_service_add_options(cfg_t *cfg, err_t *err);

typedef struct cf_service_limits {
    uint32_t max_k, max_history, max_candidates;
    float implicit_rating; /* value of an event without a rating */
} cf_service_limits_t;

typedef struct cf_service cf_service_t;

/* Wraps models (taking over the caller's references; predict may be NULL
 * or main itself when main is mf) for handle(): tests and embedders. cat
 * (may be NULL) supplies the genre names and must list main's items in
 * order; it is only read here. source is what info reports as data_source.
 * NULL with err set on failure (the references are released). */
cf_service_t *cf_service_new(cf_model_t *main, cf_model_t *predict, const catalog_t *cat,
                             const cf_service_limits_t *lim, const char *source, err_t *err);
void cf_service_free(cf_service_t *s);
const cf_model_t *cf_service_model(const cf_service_t *s);
const cf_model_t *cf_service_predict_model(const cf_service_t *s);
/* Builds the cold-item feature map of the main model (it must hold the
 * catalog's genres); load() does so when cf-cold-items is set. */
int cf_service_set_featmap(cf_service_t *s, const cf_featmap_params_t *p, err_t *err);
const cf_featmap_t *cf_service_featmap(const cf_service_t *s);

/* Trains the main model (p->kind) on every rating of ds and, when
 * want_predict and the main model is not mf, an mf model for prediction
 * (else *predict = NULL); both carry the dataset's user and item ids and
 * the catalog's genres and years. */
int cf_service_train(const dataset_t *ds, const cf_params_t *p, int want_predict, cf_model_t **main,
                     cf_model_t **predict, err_t *err);

#endif
