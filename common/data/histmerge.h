/*
 * histmerge.h: which events of a history count when an item appears more
 * than once. One rule for every place that folds feedback into a history:
 * the CF worker (events over the known user's stored row), the content
 * worker (the gateway's stored ratings followed by the new events), and
 * the offline merge of exported feedback into a dataset (dataset_extra.c).
 *
 * Events come in the order they happened: a later position is a later
 * event (the gateway sends the request's history, then the user's recent
 * feedback oldest first). An event is EXPLICIT when it carries a rating
 * value (> 0), IMPLICIT otherwise (a view, click, like, dislike ... without
 * one). For each item exactly one thing counts:
 *   1. the latest explicit event of the item, when it has any: an explicit
 *      rating wins over every implicit event, before or after it;
 *   2. else the user's stored rating of the item, when there is one (stored
 *      histories hold explicit ratings): implicit events change nothing;
 *   3. else the latest implicit event of the item.
 * The same rule as a fold over the item's events in order, starting from
 * the stored rating (if any) as an explicit winner: an event replaces the
 * current winner when histmerge_replaces(winner explicit, event explicit).
 */
#ifndef RECSYS_COMMON_HISTMERGE_H
#define RECSYS_COMMON_HISTMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when an event with this rating value is explicit (a rating). */
static inline bool histmerge_is_explicit(float rating)
{
    return rating > 0.0f;
}

/* true when a later event replaces the current winner of its item. */
static inline bool histmerge_replaces(bool winner_explicit, bool event_explicit)
{
    return event_explicit || !winner_explicit;
}

/* Whether the user's stored history rates item (ctx: the caller's). */
typedef bool (*histmerge_stored_fn)(const void *ctx, uint32_t item);

/* Picks the events that count among n events (items[i], explicit_[i], in
 * the order they happened): keep[i] = 1 for them, 0 for the others; returns
 * how many are kept (at most one per item). stored may be NULL (no stored
 * history). scratch: room for n uint64_t. n < 2^32. */
size_t histmerge_pick(const uint32_t *items, const bool *explicit_, size_t n, histmerge_stored_fn stored,
                      const void *ctx, uint64_t *scratch, uint8_t *keep);

#endif
