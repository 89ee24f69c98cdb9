/* fuzz_gw_feedback.c: the gateway's parser of recent-events list entries
 * (gw_feedback_parse_recent) and its public request checks (gw_check_*)
 * never crash, and the parser keeps its contract.
 *
 * The first byte picks a mode; the rest is the input:
 *   0: one entry, in a buffer of exactly its size (ASan sees any read past
 *      len); a parsed entry's item must be the non-empty tail of the input
 *      and its type, ts and rating valid;
 *   1: several entries separated by '\n', each parsed the same way;
 *   2: round trip: ts, type, rating and item taken from the bytes are
 *      written the way gw_feedback_add writes list entries and must parse
 *      back to the same values;
 *   3..14: the bytes decoded (gw_decode) as one of the six public request
 *      types, JSON or protobuf, then checked with its gw_check_*. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/gateway/gw_feedback.h"
#include "services/gateway/gw_request.h"
#include "services/gateway/gw_twirp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_one(const uint8_t *p, size_t n)
{
    /* an exact-size copy: one byte past it is a heap overflow */
    char *s = malloc(n ? n : 1);
    if (s == NULL)
        return;
    if (n > 0)
        memcpy(s, p, n);
    gw_feedback_recent_event_t e;
    const char *item = NULL;
    size_t il = 0;
    if (gw_feedback_parse_recent(s, n, &e, &item, &il) == 0) {
        if (item == NULL || item < s || il == 0 || item + il != s + n)
            abort(); /* the item is the non-empty rest of the entry */
        if (gw_feedback_type_name(e.type) == NULL || e.ts_ms < 0 || isnan(e.rating))
            abort();
    }
    free(s);
}

static void round_trip(const uint8_t *p, size_t n)
{
    if (n < 14)
        return;
    int64_t ts;
    float rating;
    memcpy(&ts, p, sizeof ts);
    memcpy(&rating, p + 9, sizeof rating);
    int type = p[8] % 6;
    if (ts < 0)
        ts = -(ts + 1);
    if (!isfinite(rating))
        return; /* gw_check_feedback refuses those before they are written */
    char item[GW_FEEDBACK_ID_MAX + 1];
    size_t il = 0;
    for (size_t i = 13; i < n && il < GW_FEEDBACK_ID_MAX && p[i] != '\0'; i++)
        item[il++] = (char)p[i];
    item[il] = '\0';
    if (il == 0)
        return;
    char entry[128 + GW_FEEDBACK_ID_MAX];
    int len = snprintf(entry, sizeof entry, "%" PRId64 " %d %.9g %s", ts, type, (double)rating, item);
    if (len < 0 || (size_t)len >= sizeof entry)
        abort();
    gw_feedback_recent_event_t e;
    const char *it;
    size_t got;
    if (gw_feedback_parse_recent(entry, (size_t)len, &e, &it, &got) != 0)
        abort(); /* an entry the gateway wrote must parse */
    if (e.ts_ms != ts || e.type != type || e.rating != rating || got != il || memcmp(it, item, il) != 0)
        abort();
}

static void check_request(int which, gw_encoding_t enc, const uint8_t *p, size_t n)
{
    static const ProtobufCMessageDescriptor *const descs[6] = {
        &recsys__v1__recommend_request__descriptor,  &recsys__v1__similar_items_request__descriptor,
        &recsys__v1__score_request__descriptor,      &recsys__v1__add_feedback_request__descriptor,
        &recsys__v1__get_item_request__descriptor,   &recsys__v1__search_items_request__descriptor,
    };
    pbjson_limits_t lim;
    memset(&lim, 0, sizeof lim);
    gw_limits_t l;
    gw_limits_default(&l);
    err_t err;
    ProtobufCMessage *m = gw_decode(descs[which], enc, (const char *)p, n, &lim, &err);
    if (m == NULL)
        return;
    switch (which) {
    case 0: (void)gw_check_recommend((const Recsys__V1__RecommendRequest *)m, &l, &err); break;
    case 1: (void)gw_check_similar((const Recsys__V1__SimilarItemsRequest *)m, &l, &err); break;
    case 2: (void)gw_check_score((const Recsys__V1__ScoreRequest *)m, &l, &err); break;
    case 3: (void)gw_check_feedback((const Recsys__V1__AddFeedbackRequest *)m, &l, &err); break;
    case 4: (void)gw_check_get_item((const Recsys__V1__GetItemRequest *)m, &l, &err); break;
    default: (void)gw_check_search((const Recsys__V1__SearchItemsRequest *)m, &l, &err); break;
    }
    (void)gw_effective_k(0, &l);
    protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    unsigned mode = data[0] % 15;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode == 0) {
        parse_one(p, n);
    } else if (mode == 1) {
        size_t start = 0;
        for (size_t i = 0; i <= n; i++)
            if (i == n || p[i] == '\n') {
                parse_one(p + start, i - start);
                start = i + 1;
            }
    } else if (mode == 2) {
        round_trip(p, n);
    } else {
        unsigned k = mode - 3; /* 0..11 */
        check_request((int)(k / 2), k % 2 ? GW_ENC_PROTO : GW_ENC_JSON, p, n);
    }
    return 0;
}
