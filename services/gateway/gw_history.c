/*
 * gw_history.c: a user's history for the ranked methods, assembled once
 * per request (stored ratings, request events, recent feedback) and the
 * content worker's cut of it. See gw_history.h.
 */
#include "services/gateway/gw_history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/data/feedback.h"
#include "common/data/histmerge.h"

/* Position of item in the user's rated items (sorted), or n. */
static size_t rated_at(const uint32_t *items, size_t n, uint32_t item)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (items[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && items[lo] == item ? lo : n;
}

int gw_history_build(gw_history_t *h, const gw_catalog_t *cat, const char *user_id,
                     Recsys__V1__HistoryEvent *const *req, size_t nreq,
                     const gw_feedback_recent_event_t *recent, size_t nrecent, arena_t *a, err_t *err)
{
    memset(h, 0, sizeof *h);
    h->user_id = user_id != NULL ? user_id : "";
    h->nrated = gw_catalog_user_ratings(cat, h->user_id, &h->rated, &h->rated_values);
    size_t nfresh_max = nreq + nrecent;
    h->items = arena_alloc(a, (h->nrated + nfresh_max + 1) * sizeof *h->items);
    h->fresh = nfresh_max ? arena_alloc(a, nfresh_max * sizeof *h->fresh) : NULL;
    Recsys__V1__HistoryEvent *e = nfresh_max ? arena_alloc(a, nfresh_max * sizeof *e) : NULL;
    if (h->items == NULL || (nfresh_max > 0 && (h->fresh == NULL || e == NULL)))
        return err_set(err, "out of memory");
    if (h->nrated > 0)
        memcpy(h->items, h->rated, h->nrated * sizeof *h->items);
    h->nitems = h->nrated;

    /* The request's events: fresh copies (never re-packed pieces of the
     * client's message, see gw_rank.c), each item known. */
    for (size_t i = 0; i < nreq; i++) {
        uint32_t it = gw_catalog_find(cat, req[i]->item_id);
        if (it == UINT32_MAX)
            return err_set(err, "history[%zu].item_id: unknown item '%.80s'", i, req[i]->item_id);
        h->items[h->nitems++] = it;
        Recsys__V1__HistoryEvent *c = &e[h->nfresh];
        recsys__v1__history_event__init(c);
        c->item_id = req[i]->item_id;
        c->rating = req[i]->rating;
        c->type = req[i]->type;
        c->timestamp_ms = req[i]->timestamp_ms;
        h->fresh[h->nfresh++] = c;
    }
    h->nrequest = h->nfresh;
    h->length = h->nrated + nreq;

    /* Recent feedback (unknown items skipped). The history grows only by
     * items neither rated nor seen before in the recent list (the blend's
     * history length; common/data/histmerge.h). */
    size_t first_recent = h->nitems;
    for (size_t i = 0; i < nrecent; i++) {
        uint32_t it = gw_catalog_find(cat, recent[i].item);
        if (it == UINT32_MAX)
            continue;
        Recsys__V1__HistoryEvent *c = &e[h->nfresh];
        recsys__v1__history_event__init(c);
        c->item_id = arena_strdup(a, recent[i].item);
        c->rating = recent[i].rating;
        c->type = (Recsys__V1__EventType)recent[i].type;
        c->timestamp_ms = recent[i].ts_ms;
        if (c->item_id == NULL)
            continue;
        h->fresh[h->nfresh++] = c;
        bool known = rated_at(h->rated, h->nrated, it) < h->nrated;
        for (size_t x = first_recent; x < h->nitems && !known; x++)
            known = h->items[x] == it;
        h->length += !known;
        h->items[h->nitems++] = it;
        h->nrecent_items++;
    }
    if (h->nfresh == 0)
        h->fresh = NULL;
    return 0;
}

uint8_t *gw_history_negatives(const gw_history_t *h, const gw_catalog_t *cat, arena_t *a, size_t *nnegative)
{
    size_t n = gw_catalog_size(cat);
    uint8_t *neg = arena_alloc(a, n ? n : 1);
    /* Per item whether the current winner is explicit: bit 1 of expl. */
    uint8_t *expl = arena_alloc(a, n ? n : 1);
    if (neg == NULL || expl == NULL)
        return NULL;
    memset(neg, 0, n ? n : 1);
    memset(expl, 0, n ? n : 1);
    for (size_t i = 0; i < h->nrated; i++) {
        neg[h->rated[i]] = cat->scale_negatives && feedback_rating_negative(h->rated_values[i]);
        expl[h->rated[i]] = 1; /* a stored rating is an explicit winner */
    }
    for (size_t i = 0; i < h->nfresh; i++) {
        const Recsys__V1__HistoryEvent *e = h->fresh[i];
        uint32_t it = gw_catalog_find(cat, e->item_id);
        if (it == UINT32_MAX)
            continue;
        bool ex = histmerge_is_explicit(e->rating);
        if (!histmerge_replaces(expl[it] != 0, ex))
            continue;
        expl[it] = ex;
        neg[it] = feedback_event_negative(e->rating, e->type == RECSYS__V1__EVENT_TYPE__EVENT_TYPE_DISLIKE);
    }
    if (nnegative != NULL) {
        /* Distinct negative items: expl's bit 1 marks one counted. */
        size_t count = 0;
        for (size_t i = 0; i < h->nitems; i++) {
            uint32_t it = h->items[i];
            if (neg[it] && !(expl[it] & 2)) {
                expl[it] |= 2;
                count++;
            }
        }
        *nnegative = count;
    }
    return neg;
}

/* The content model knows no users: it gets the user's known ratings (from
 * the gateway's dataset) followed by the new events. The CF model knows its
 * users and gets only the new events to fold in. A long history is cut to
 * content-history-max ratings, keeping those furthest from the user's mean:
 * the content profile weighs each rating by its distance from that mean, so
 * these carry most of it, and the worker's cost grows with the history
 * (scoring, and the "because" item of every hit). The blend still counts the
 * whole history (gw_history_t.length). */
typedef struct weighted_ix {
    float w;
    uint32_t i;
} weighted_ix_t;

static int cmp_weight_desc(const void *a, const void *b)
{
    const weighted_ix_t *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Moves the k first of p[0..n) in cmp_weight_desc order to the front, in
 * order: a quickselect (the order is total, ties broken by index) and a
 * sort of the k kept, so the result equals a full sort's first k. */
static void select_top(weighted_ix_t *p, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1 && k > lo && k < hi) {
        weighted_ix_t pivot = p[lo + (hi - lo - 1) / 2]; /* lower middle: [lo, b] never empty nor all */
        size_t a = lo, b = hi - 1;
        for (;;) {
            while (cmp_weight_desc(&p[a], &pivot) < 0)
                a++;
            while (cmp_weight_desc(&p[b], &pivot) > 0)
                b--;
            if (a >= b)
                break;
            weighted_ix_t t = p[a];
            p[a] = p[b];
            p[b] = t;
            a++;
            b--;
        }
        /* Hoare: [lo, b] <= pivot <= [b + 1, hi). */
        if (k <= b + 1)
            hi = b + 1;
        else
            lo = b + 1;
    }
    qsort(p, k, sizeof *p, cmp_weight_desc);
}

Recsys__V1__HistoryEvent **gw_history_for_content(const gw_history_t *h, const gw_catalog_t *cat, size_t max,
                                                  arena_t *a, size_t *n)
{
    const uint32_t *items = h->rated;
    const float *vals = h->rated_values;
    size_t nk = h->nrated, nrated = h->nrated, nfresh = h->nfresh;
    Recsys__V1__HistoryEvent *const *fresh = h->fresh;
    weighted_ix_t *pick = NULL;
    uint8_t *picked = NULL;
    *n = 0;
    if (nk > max) {
        pick = arena_alloc(a, nk * sizeof *pick);
        if (pick == NULL)
            return NULL;
        double mean = 0;
        for (size_t i = 0; i < nk; i++)
            mean += vals[i];
        mean /= (double)nk;
        for (size_t i = 0; i < nk; i++)
            pick[i] = (weighted_ix_t){(float)fabs((double)vals[i] - mean), (uint32_t)i};
        select_top(pick, nk, max);
        nk = max;
        if ((picked = arena_alloc(a, nrated)) == NULL)
            return NULL;
        memset(picked, 0, nrated);
        for (size_t i = 0; i < nk; i++)
            picked[pick[i].i] = 1;
    }
    if (nk + nfresh == 0)
        return NULL;
    Recsys__V1__HistoryEvent **v = arena_alloc(a, (nk + nfresh) * sizeof *v);
    Recsys__V1__HistoryEvent *e = nk ? arena_alloc(a, nk * sizeof *e) : NULL;
    if (v == NULL || (nk > 0 && e == NULL))
        return NULL;
    for (size_t i = 0; i < nk; i++) {
        size_t src = pick != NULL ? pick[i].i : i;
        recsys__v1__history_event__init(&e[i]);
        e[i].item_id = (char *)catalog_id(cat->cat, items[src]);
        /* Implicit data (no negative ratings on its scale): a stored value is
         * an interaction, not a 1-star rating. */
        e[i].rating = cat->scale_negatives ? vals[src] : 0.0f;
        e[i].type = cat->scale_negatives ? RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING
                                         : RECSYS__V1__EVENT_TYPE__EVENT_TYPE_VIEW;
        v[i] = &e[i];
    }
    size_t nv = nk;
    for (size_t i = 0; i < nfresh && fresh != NULL; i++) {
        /* An implicit event on an item the user rated counts for nothing
         * (common/data/histmerge.h): the worker sees that when the rating is
         * sent, but not for a rating left out above, so drop it here. */
        if (picked != NULL && !histmerge_is_explicit(fresh[i]->rating)) {
            size_t at = rated_at(items, nrated, gw_catalog_find(cat, fresh[i]->item_id));
            if (at < nrated && !picked[at])
                continue;
        }
        v[nv++] = fresh[i];
    }
    *n = nv;
    return v;
}
