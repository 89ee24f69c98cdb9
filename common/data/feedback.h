/*
 * feedback.h: when a history event is evidence AGAINST an item (R7). One
 * rule for the gateway, both workers and the evaluator.
 *
 * The rule: an event is NEGATIVE when
 *   - it is an explicit rating (> 0, common/data/histmerge.h) of at most
 *     FEEDBACK_NEGATIVE_MAX (2) on the 0.5-5 scale, or
 *   - it is a DISLIKE without a rating; it counts as the rating
 *     FEEDBACK_DISLIKE_RATING (1).
 * (A DISLIKE carrying a rating is that rating, as every explicit event.)
 * Everything else is positive or neutral evidence, as before.
 *
 * How strongly: feedback_negative_strength (by the rating) times
 * FEEDBACK_NEGATIVE_SCALE (measured, see there) in the additive models.
 *
 * Why an absolute threshold and not "below the user's own mean": each place
 * that applies the rule sees a different part of the history (the CF worker
 * its training row plus the fresh events, the content worker the stored
 * ratings cut to content-history-max plus the fresh events, the evaluator
 * the first n ratings), so a mean-relative rule would call the same rating a
 * dislike in one model and a like in another; a history of one rating has
 * no mean; and a generous rater's 3.5 below a mean of 4.2 is a lukewarm
 * "like", not a dislike (MovieLens: 2 = "fairly bad", 3 = "ok"). Centring on
 * the user's mean stays a WEIGHT inside the content profile
 * (content_query.c); it never turns a negative item positive.
 *
 * Scale: the threshold is meant for the MovieLens scale. A model trained on
 * implicit data (every value 1, or any scale whose maximum is <= 2) has no
 * negative ratings: feedback_scale_has_negatives(max) says whether the rule
 * applies to values of a scale with that maximum.
 *
 * What "evidence against" means in each place: CF fold-in (cf_score.c: EASE
 * a negative weight, ALS preference 0 with confidence, MF the low rating
 * itself), the content profile (content_query.c: a negative weight), the
 * gateway (gw_rank.c: never cites a negative item in an explanation). A
 * negative item is still a seen item: excluded from answers unless
 * include_seen.
 */
#ifndef RECSYS_COMMON_FEEDBACK_H
#define RECSYS_COMMON_FEEDBACK_H

#include <stdbool.h>
#include <stddef.h>

/* A rating at most this is negative. */
#define FEEDBACK_NEGATIVE_MAX 2.0f
/* What a DISLIKE without a rating counts as (negative by the rule). */
#define FEEDBACK_DISLIKE_RATING 1.0f

/* true when an explicit rating (> 0) is negative; 0 (no rating) is not. */
static inline bool feedback_rating_negative(float rating)
{
    return rating > 0.0f && rating <= FEEDBACK_NEGATIVE_MAX;
}

/* true when an event (its rating, 0 = none; whether it is a DISLIKE) is
 * negative. */
static inline bool feedback_event_negative(float rating, bool dislike)
{
    return rating > 0.0f ? feedback_rating_negative(rating) : dislike;
}

/* The rating an event counts as: its own, or FEEDBACK_DISLIKE_RATING for a
 * DISLIKE without one, or 0 (none) for another implicit event. */
static inline float feedback_event_rating(float rating, bool dislike)
{
    return rating > 0.0f ? rating : dislike ? FEEDBACK_DISLIKE_RATING : 0.0f;
}

/* How strongly a negative rating speaks against its item, > 0, in units of
 * "as strongly as a top rating speaks for one": 1 for a 1 (and for a
 * DISLIKE), 0.5 for a 2, 1.25 for a 0.5; (FEEDBACK_NEGATIVE_MAX + 1 -
 * rating) / 2. Each model scales it to its own weights (cf_internal.h,
 * content_query.c). */
static inline float feedback_negative_strength(float rating)
{
    return (FEEDBACK_NEGATIVE_MAX + 1.0f - rating) * 0.5f;
}

/* How much a negative item weighs against, relative to what a liked item
 * weighs for, in the additive models (EASE's sum over the history, the
 * content profile): a tenth. Measured (R7-style, ml-latest-small, 25% of
 * users held out, 5 seeds, NDCG@10 on later ratings >= 4, users whose first
 * n ratings hold a low one): with 0.1 including the low ratings never
 * scores below leaving them out for EASE (+0.0008, +0.0012, +0.0020 at n =
 * 5, 10, 20) and within noise for content (+0.0014, -0.0002, -0.0016),
 * while ml-100k R1 (known users) loses 0.002 (0.3305 -> 0.3286 EASE). A
 * full weight (1) lifts EASE at n = 10, 20 (+0.011) but costs n = 5
 * (-0.004), content at every n >= 10, and R1 2.5 points (0.3057, below
 * its target): on MovieLens a low-rated film still says something about
 * what the user watches. ALS (preference 0, cf_als.c) needs no such scale. */
#define FEEDBACK_NEGATIVE_SCALE 0.1f

/* Whether the rule applies to ratings of a scale whose maximum is max (a
 * scale topping at 2 or below is implicit data, not stars). */
static inline bool feedback_scale_has_negatives(float max)
{
    return max > FEEDBACK_NEGATIVE_MAX;
}

/* The same for the values v[0..n) of a dataset's ratings (their maximum). */
static inline bool feedback_values_have_negatives(const float *v, size_t n)
{
    float max = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    return feedback_scale_has_negatives(max);
}

#endif
