/* test_pbjson.c: the proto3 JSON codec (common/wire/pbjson) against the recsys
 * protos and a hand-written descriptor holding every field kind (all scalar
 * types, bytes, double, repeated enums, two maps, a recursive child and a
 * proto2-style optional). Round trips compare protobuf bytes, so the JSON
 * side is checked against protobuf-c's own packer; golden strings are what
 * Go's protojson (UseProtoNames + EmitUnpopulated, Twirp v8) writes. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/pbjson.h"
#include "recsys/v1/recommender.pb-c.h"
#include "recsys/v1/worker.pb-c.h"

/* ---- a descriptor with every field kind, written by hand ---- */

typedef struct Kitchen Kitchen;
typedef struct {
    ProtobufCMessage base;
    char *key;
    int64_t value;
} LabelsEntry;
typedef struct {
    ProtobufCMessage base;
    int32_t key;
    char *value;
} ByIdEntry;
struct Kitchen {
    ProtobufCMessage base;
    int32_t i32;
    int64_t i64;
    uint32_t u32;
    uint64_t u64;
    int32_t s32;
    int64_t s64;
    uint32_t f32;
    uint64_t f64;
    int32_t sf32;
    int64_t sf64;
    float fl;
    double db;
    protobuf_c_boolean b;
    char *str;
    ProtobufCBinaryData by;
    int en;
    size_t n_rep_double;
    double *rep_double;
    size_t n_rep_bytes;
    ProtobufCBinaryData *rep_bytes;
    size_t n_rep_enum;
    int *rep_enum;
    size_t n_labels;
    LabelsEntry **labels;
    size_t n_by_id;
    ByIdEntry **by_id;
    Kitchen *child;
    protobuf_c_boolean has_opt_value;
    int32_t opt_value;
};

static const ProtobufCMessageDescriptor kitchen_desc;
static const ProtobufCMessageDescriptor labels_desc;
static const ProtobufCMessageDescriptor by_id_desc;

static void labels_init(ProtobufCMessage *m)
{
    static const LabelsEntry v = {PROTOBUF_C_MESSAGE_INIT(&labels_desc), (char *)protobuf_c_empty_string, 0};
    *(LabelsEntry *)m = v;
}

static void by_id_init(ProtobufCMessage *m)
{
    static const ByIdEntry v = {PROTOBUF_C_MESSAGE_INIT(&by_id_desc), 0, (char *)protobuf_c_empty_string};
    *(ByIdEntry *)m = v;
}

static void kitchen_init(ProtobufCMessage *m)
{
    static const Kitchen v = {.base = PROTOBUF_C_MESSAGE_INIT(&kitchen_desc),
                              .str = (char *)protobuf_c_empty_string};
    *(Kitchen *)m = v;
}

#define FD(name, id, label, type, q, off, desc, def, flags) \
    {name, id, label, type, q, off, desc, def, flags, 0, NULL, NULL}
#define L_NONE PROTOBUF_C_LABEL_NONE
#define L_REP PROTOBUF_C_LABEL_REPEATED
#define KO(f) offsetof(Kitchen, f)

static const ProtobufCFieldDescriptor labels_fields[2] = {
    FD("key", 1, L_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(LabelsEntry, key), NULL,
       &protobuf_c_empty_string, 0),
    FD("value", 2, L_NONE, PROTOBUF_C_TYPE_INT64, 0, offsetof(LabelsEntry, value), NULL, NULL, 0),
};
static const ProtobufCFieldDescriptor by_id_fields[2] = {
    FD("key", 1, L_NONE, PROTOBUF_C_TYPE_INT32, 0, offsetof(ByIdEntry, key), NULL, NULL, 0),
    FD("value", 2, L_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(ByIdEntry, value), NULL,
       &protobuf_c_empty_string, 0),
};
static const unsigned entry_by_name[2] = {0, 1};
static const ProtobufCIntRange entry_ranges[2] = {{1, 0}, {0, 2}};

static const ProtobufCFieldDescriptor kitchen_fields[23] = {
    FD("i32", 1, L_NONE, PROTOBUF_C_TYPE_INT32, 0, KO(i32), NULL, NULL, 0),
    FD("i64", 2, L_NONE, PROTOBUF_C_TYPE_INT64, 0, KO(i64), NULL, NULL, 0),
    FD("u32", 3, L_NONE, PROTOBUF_C_TYPE_UINT32, 0, KO(u32), NULL, NULL, 0),
    FD("u64", 4, L_NONE, PROTOBUF_C_TYPE_UINT64, 0, KO(u64), NULL, NULL, 0),
    FD("s32", 5, L_NONE, PROTOBUF_C_TYPE_SINT32, 0, KO(s32), NULL, NULL, 0),
    FD("s64", 6, L_NONE, PROTOBUF_C_TYPE_SINT64, 0, KO(s64), NULL, NULL, 0),
    FD("f32", 7, L_NONE, PROTOBUF_C_TYPE_FIXED32, 0, KO(f32), NULL, NULL, 0),
    FD("f64", 8, L_NONE, PROTOBUF_C_TYPE_FIXED64, 0, KO(f64), NULL, NULL, 0),
    FD("sf32", 9, L_NONE, PROTOBUF_C_TYPE_SFIXED32, 0, KO(sf32), NULL, NULL, 0),
    FD("sf64", 10, L_NONE, PROTOBUF_C_TYPE_SFIXED64, 0, KO(sf64), NULL, NULL, 0),
    FD("fl", 11, L_NONE, PROTOBUF_C_TYPE_FLOAT, 0, KO(fl), NULL, NULL, 0),
    FD("db", 12, L_NONE, PROTOBUF_C_TYPE_DOUBLE, 0, KO(db), NULL, NULL, 0),
    FD("b", 13, L_NONE, PROTOBUF_C_TYPE_BOOL, 0, KO(b), NULL, NULL, 0),
    FD("str", 14, L_NONE, PROTOBUF_C_TYPE_STRING, 0, KO(str), NULL, &protobuf_c_empty_string, 0),
    FD("by", 15, L_NONE, PROTOBUF_C_TYPE_BYTES, 0, KO(by), NULL, NULL, 0),
    FD("en", 16, L_NONE, PROTOBUF_C_TYPE_ENUM, 0, KO(en), &recsys__v1__event_type__descriptor,
       NULL, 0),
    FD("rep_double", 17, L_REP, PROTOBUF_C_TYPE_DOUBLE, KO(n_rep_double), KO(rep_double), NULL,
       NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    FD("rep_bytes", 18, L_REP, PROTOBUF_C_TYPE_BYTES, KO(n_rep_bytes), KO(rep_bytes), NULL, NULL,
       0),
    FD("rep_enum", 19, L_REP, PROTOBUF_C_TYPE_ENUM, KO(n_rep_enum), KO(rep_enum),
       &recsys__v1__event_type__descriptor, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    FD("labels", 20, L_REP, PROTOBUF_C_TYPE_MESSAGE, KO(n_labels), KO(labels), &labels_desc, NULL,
       0),
    FD("by_id", 21, L_REP, PROTOBUF_C_TYPE_MESSAGE, KO(n_by_id), KO(by_id), &by_id_desc, NULL, 0),
    FD("child", 22, L_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, KO(child), &kitchen_desc, NULL, 0),
    FD("opt_value", 23, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32, KO(has_opt_value),
       KO(opt_value), NULL, NULL, 0),
};
/* Field indices in strcmp order of their names. */
static const unsigned kitchen_by_name[23] = {12, 14, 20, 21, 11, 15, 6,  7,  10, 0, 1, 19,
                                             22, 17, 16, 18, 4,  5,  8,  9,  13, 2, 3};
static const ProtobufCIntRange kitchen_ranges[2] = {{1, 0}, {0, 23}};

static const ProtobufCMessageDescriptor labels_desc = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Kitchen.LabelsEntry", "LabelsEntry",
    "Test__Kitchen__LabelsEntry", "test", sizeof(LabelsEntry), 2, labels_fields, entry_by_name, 1,
    entry_ranges, labels_init, NULL, NULL, NULL};
static const ProtobufCMessageDescriptor by_id_desc = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Kitchen.ByIdEntry", "ByIdEntry",
    "Test__Kitchen__ByIdEntry", "test", sizeof(ByIdEntry), 2, by_id_fields, entry_by_name, 1,
    entry_ranges, by_id_init, NULL, NULL, NULL};
static const ProtobufCMessageDescriptor kitchen_desc = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Kitchen", "Kitchen", "Test__Kitchen", "test",
    sizeof(Kitchen), 23, kitchen_fields, kitchen_by_name, 1, kitchen_ranges, kitchen_init, NULL,
    NULL, NULL};

/* ---- helpers ---- */

static const ProtobufCMessageDescriptor *const all_descs[] = {
    &recsys__v1__history_event__descriptor,
    &recsys__v1__filters__descriptor,
    &recsys__v1__blend_weights__descriptor,
    &recsys__v1__explanation__descriptor,
    &recsys__v1__scored_item__descriptor,
    &recsys__v1__model_versions__descriptor,
    &recsys__v1__recommend_request__descriptor,
    &recsys__v1__recommend_response__descriptor,
    &recsys__v1__similar_items_request__descriptor,
    &recsys__v1__similar_items_response__descriptor,
    &recsys__v1__score_request__descriptor,
    &recsys__v1__score_response__descriptor,
    &recsys__v1__feedback_event__descriptor,
    &recsys__v1__add_feedback_request__descriptor,
    &recsys__v1__add_feedback_response__descriptor,
    &recsys__v1__item__descriptor,
    &recsys__v1__get_item_request__descriptor,
    &recsys__v1__get_item_response__descriptor,
    &recsys__v1__search_items_request__descriptor,
    &recsys__v1__search_items_response__descriptor,
    &recsys__v1__worker_request__descriptor,
    &recsys__v1__worker_score_request__descriptor,
    &recsys__v1__worker_similar_request__descriptor,
    &recsys__v1__worker_predict_request__descriptor,
    &recsys__v1__worker_info_request__descriptor,
    &recsys__v1__worker_items_request__descriptor,
    &recsys__v1__worker_error__descriptor,
    &recsys__v1__worker_scored__descriptor,
    &recsys__v1__worker_scored_list__descriptor,
    &recsys__v1__worker_predictions__descriptor,
    &recsys__v1__worker_model_info__descriptor,
    &recsys__v1__worker_items__descriptor,
    &recsys__v1__worker_reply__descriptor,
    &kitchen_desc,
};

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

static ProtobufCMessage *decode_ok(const ProtobufCMessageDescriptor *d, const char *json)
{
    err_t err;
    err_clear(&err);
    ProtobufCMessage *m = pbjson_decode(d, json, strlen(json), &err);
    if (m == NULL)
        fail_msg("decode of %s failed: %s", json, err.msg);
    return m;
}

static char *encode_ok(const ProtobufCMessage *m, const pbjson_opts_t *o)
{
    err_t err;
    size_t len = 0;
    char *s = pbjson_encode(m, o, &len, &err);
    if (s == NULL)
        fail_msg("encode failed: %s", err.msg);
    assert_int_equal(strlen(s), len);
    return s;
}

static void expect_error(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                         const char *want)
{
    err_t err;
    err_clear(&err);
    ProtobufCMessage *m = pbjson_decode(d, json, len, &err);
    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("decode of %s should fail with: %s", json, want);
    }
    if (strcmp(err.msg, want) != 0)
        fail_msg("decode of %s:\n  got  %s\n  want %s", json, err.msg, want);
}

#define EXPECT_ERROR(d, json, want) expect_error(d, json, strlen(json), want)

static void expect_json(const ProtobufCMessage *m, const pbjson_opts_t *o, const char *want)
{
    char *s = encode_ok(m, o);
    if (strcmp(s, want) != 0)
        fail_msg("encoded:\n  got  %s\n  want %s", s, want);
    free(s);
}

/* ---- a generic filler: every field of any message, varied values ---- */

typedef struct {
    unsigned seq;
} fill_t;

static const char *const fill_strings[] = {
    "plain", "q\"b\\s/", "ctl\x01\x1f\n\t\r\b\f\x7f", "utf8 \xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80",
    "",      "x",
};
static const int64_t fill_i64[] = {INT64_MIN, INT64_MAX, -1, 9007199254740993LL, 0, 42};
static const int32_t fill_i32[] = {INT32_MIN, INT32_MAX, -1, 0, 7, 1990};
static const uint64_t fill_u64[] = {UINT64_MAX, 0, 1, 1ULL << 63};
static const int fill_enum[] = {1, 0, 42, 5, 2};

static float fill_float(unsigned i)
{
    const float t[] = {0.1f,    -3.5e-7f, 1e30f, FLT_MAX, FLT_MIN,   1e-45f,
                       123456789.0f, 0.0f, -0.0f, NAN,     INFINITY, -INFINITY, 4.5f};
    return t[i % (sizeof t / sizeof t[0])];
}

static double fill_double(unsigned i)
{
    const double t[] = {0.1, 1e21, 5e-324, DBL_MAX, -2.5, 1e-7, NAN, -INFINITY, 1e20, 0.0};
    return t[i % (sizeof t / sizeof t[0])];
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static ProtobufCMessage *fill_message(const ProtobufCMessageDescriptor *d, fill_t *st, int depth,
                                      int oneof_pick);

static size_t elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static void fill_value(const ProtobufCFieldDescriptor *f, void *v, fill_t *st, int depth)
{
    unsigned k = st->seq++;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)v = fill_i32[k % 6];
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)v = k % 2 ? UINT32_MAX : k;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)v = fill_i64[k % 6];
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)v = fill_u64[k % 4];
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)v = fill_float(k);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)v = fill_double(k);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)v = k % 2;
        break;
    case PROTOBUF_C_TYPE_ENUM:
        *(int *)v = fill_enum[k % 5];
        break;
    case PROTOBUF_C_TYPE_STRING:
        *(char **)v = xstrdup(fill_strings[k % 6]);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bd = v;
        bd->len = k % 5;
        bd->data = bd->len ? malloc(bd->len) : NULL;
        for (size_t i = 0; i < bd->len; i++)
            bd->data[i] = (uint8_t)(k * 37 + i * 101);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        *(ProtobufCMessage **)v =
            depth < 3 ? fill_message(f->descriptor, st, depth + 1, (int)(k % 3)) : NULL;
        break;
    }
}

/* oneof_pick: which member of the (single) oneof to set; -1 = none. */
static ProtobufCMessage *fill_message(const ProtobufCMessageDescriptor *d, fill_t *st, int depth,
                                      int oneof_pick)
{
    ProtobufCMessage *m = malloc(d->sizeof_message);
    assert_non_null(m);
    d->message_init(m);
    int oneof_idx = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *v = (char *)m + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (oneof_idx++ != oneof_pick)
                continue;
            *(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                *(ProtobufCMessage **)v = fill_message(f->descriptor, st, depth + 1, 0);
                continue;
            }
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = depth < 3 ? 1 + st->seq % 3 : 0;
            size_t sz = elt_size(f->type);
            char *arr = n ? calloc(n, sz) : NULL;
            for (size_t j = 0; j < n; j++) {
                if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                    *(ProtobufCMessage **)(arr + j * sz) =
                        fill_message(f->descriptor, st, depth + 1, 0);
                else
                    fill_value(f, arr + j * sz, st, depth);
            }
            *(size_t *)((char *)m + f->quantifier_offset) = n;
            *(char **)v = arr;
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_STRING)
            *(char **)v = NULL; /* replaced below; never leave the default to free */
        fill_value(f, v, st, depth);
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = st->seq % 2;
    }
    return m;
}

static int count_oneof(const ProtobufCMessageDescriptor *d)
{
    int n = 0;
    for (unsigned i = 0; i < d->n_fields; i++)
        n += (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    return n;
}

/* JSON -> message -> protobuf must give the bytes the original packs to, and
 * encoding the decoded message must give the same JSON. */
static void roundtrip(const ProtobufCMessage *m, const pbjson_opts_t *o)
{
    size_t la, lb;
    uint8_t *a = pack(m, &la);
    char *json = encode_ok(m, o);
    ProtobufCMessage *m2 = decode_ok(m->descriptor, json);
    uint8_t *b = pack(m2, &lb);
    if (la != lb || memcmp(a, b, la) != 0)
        fail_msg("%s: protobuf bytes differ after JSON round trip (%zu vs %zu): %s",
                 m->descriptor->name, la, lb, json);
    char *json2 = encode_ok(m2, o);
    assert_string_equal(json, json2);
    free(json2);
    free(b);
    protobuf_c_message_free_unpacked(m2, NULL);
    free(json);
    free(a);
}

static void test_roundtrip_all_messages(void **state)
{
    const pbjson_opts_t variants[] = {PBJSON_OPTS_TWIRP, {false, false, 0}, {true, true, 2},
                                      {false, true, 0}};
    fill_t st = {0};
    int checked = 0;
    for (size_t i = 0; i < sizeof all_descs / sizeof all_descs[0]; i++) {
        const ProtobufCMessageDescriptor *d = all_descs[i];
        int n_oneof = count_oneof(d);
        for (int pick = n_oneof ? -1 : 0; pick < (n_oneof ? n_oneof : 1); pick++) {
            for (int rep = 0; rep < 3; rep++) {
                ProtobufCMessage *m = fill_message(d, &st, 0, pick);
                for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
                    roundtrip(m, &variants[v]);
                protobuf_c_message_free_unpacked(m, NULL);
                checked++;
            }
            /* The empty message too. */
            ProtobufCMessage *e = malloc(d->sizeof_message);
            d->message_init(e);
            roundtrip(e, NULL);
            protobuf_c_message_free_unpacked(e, NULL);
        }
    }
    assert_true(checked > 100);
}

/* ---- golden outputs (what Go protojson writes) ---- */

static void test_golden_recommend_request(void **state)
{
    ProtobufCMessage *m = decode_ok(
        &recsys__v1__recommend_request__descriptor,
        "{\"userId\":\"u1\",\"k\":10,\"history\":[{\"itemId\":\"i1\",\"rating\":4.5,\"type\":"
        "\"EVENT_TYPE_RATING\",\"timestampMs\":1700000000000}],\"explain\":false}");
    Recsys__V1__RecommendRequest *r = (Recsys__V1__RecommendRequest *)m;
    assert_string_equal(r->user_id, "u1");
    assert_int_equal(r->k, 10);
    assert_int_equal(r->n_history, 1);
    assert_int_equal(r->history[0]->timestamp_ms, 1700000000000LL);
    assert_int_equal(r->history[0]->type, RECSYS__V1__EVENT_TYPE__EVENT_TYPE_RATING);
    assert_null(r->filters);
    assert_null(r->weights);
    expect_json(m, NULL,
                "{\"user_id\":\"u1\",\"history\":[{\"item_id\":\"i1\",\"rating\":4.5,\"type\":"
                "\"EVENT_TYPE_RATING\",\"timestamp_ms\":\"1700000000000\"}],\"k\":10,\"filters\":"
                "null,\"weights\":null,\"explain\":false}");
    pbjson_opts_t sparse = {false, false, 0};
    expect_json(m, &sparse,
                "{\"user_id\":\"u1\",\"history\":[{\"item_id\":\"i1\",\"rating\":4.5,\"type\":"
                "\"EVENT_TYPE_RATING\",\"timestamp_ms\":\"1700000000000\"}],\"k\":10}");
    pbjson_opts_t camel = {false, true, 0};
    expect_json(m, &camel,
                "{\"userId\":\"u1\",\"history\":[{\"itemId\":\"i1\",\"rating\":4.5,\"type\":"
                "\"EVENT_TYPE_RATING\",\"timestampMs\":\"1700000000000\"}],\"k\":10}");
    protobuf_c_message_free_unpacked(m, NULL);

    Recsys__V1__RecommendRequest empty = RECSYS__V1__RECOMMEND_REQUEST__INIT;
    expect_json(&empty.base, NULL,
                "{\"user_id\":\"\",\"history\":[],\"k\":0,\"filters\":null,\"weights\":null,"
                "\"explain\":false}");
    expect_json(&empty.base, &sparse, "{}");
}

static void test_golden_worker_reply(void **state)
{
    Recsys__V1__WorkerScored s = RECSYS__V1__WORKER_SCORED__INIT;
    s.item_id = "m1";
    s.score = 0.5f;
    Recsys__V1__WorkerScored *items[] = {&s};
    Recsys__V1__WorkerScoredList list = RECSYS__V1__WORKER_SCORED_LIST__INIT;
    list.n_items = 1;
    list.items = items;
    list.history_used = 3;
    Recsys__V1__WorkerReply r = RECSYS__V1__WORKER_REPLY__INIT;
    r.request_id = 42;
    r.model_version = "v1";
    r.model_name = "als";
    r.body_case = RECSYS__V1__WORKER_REPLY__BODY_SCORED;
    r.scored = &list;
    expect_json(&r.base, NULL,
                "{\"request_id\":\"42\",\"error\":null,\"model_version\":\"v1\",\"model_name\":"
                "\"als\",\"scored\":{\"items\":[{\"item_id\":\"m1\",\"score\":0.5,\"because_item_"
                "id\":\"\"}],\"history_used\":3,\"unknown_item_ids\":[]}}");
    pbjson_opts_t sparse = {false, false, 0};
    expect_json(&r.base, &sparse,
                "{\"request_id\":\"42\",\"model_version\":\"v1\",\"model_name\":\"als\","
                "\"scored\":{\"items\":[{\"item_id\":\"m1\",\"score\":0.5}],\"history_used\":3}}");
    /* A selected oneof member is written even when it is empty. */
    Recsys__V1__WorkerModelInfo info = RECSYS__V1__WORKER_MODEL_INFO__INIT;
    r.body_case = RECSYS__V1__WORKER_REPLY__BODY_INFO;
    r.info = &info;
    expect_json(&r.base, &sparse,
                "{\"request_id\":\"42\",\"model_version\":\"v1\",\"model_name\":\"als\","
                "\"info\":{}}");
    pbjson_opts_t pretty = {false, false, 2};
    expect_json(&r.base, &pretty,
                "{\n  \"request_id\": \"42\",\n  \"model_version\": \"v1\",\n  \"model_name\": "
                "\"als\",\n  \"info\": {}\n}");
}

static void test_golden_kitchen(void **state)
{
    Kitchen child;
    kitchen_init(&child.base);
    child.i32 = 1;
    LabelsEntry le;
    labels_init(&le.base);
    le.key = "x";
    le.value = -1;
    LabelsEntry *lp[] = {&le};
    ByIdEntry be;
    by_id_init(&be.base);
    be.key = 7;
    be.value = "seven";
    ByIdEntry *bp[] = {&be};
    double rd[] = {NAN, -INFINITY, 5e-324};
    uint8_t hi[] = {'h', 'i'};
    ProtobufCBinaryData rb[] = {{0, NULL}, {2, hi}};
    int re[] = {1, 42};
    uint8_t by[] = {0x00, 0xff, 0x10};
    Kitchen k;
    kitchen_init(&k.base);
    k.i32 = -5;
    k.i64 = INT64_MIN;
    k.u32 = UINT32_MAX;
    k.u64 = UINT64_MAX;
    k.s32 = INT32_MIN;
    k.s64 = INT64_MAX;
    k.f32 = 7;
    k.f64 = 8;
    k.sf32 = -9;
    k.sf64 = -10;
    k.fl = 0.1f;
    k.db = 1e21;
    k.b = 1;
    k.str = "a\"b\\c\n\x01\x7f \xC3\xA9";
    k.by.len = 3;
    k.by.data = by;
    k.en = 2;
    k.n_rep_double = 3;
    k.rep_double = rd;
    k.n_rep_bytes = 2;
    k.rep_bytes = rb;
    k.n_rep_enum = 2;
    k.rep_enum = re;
    k.n_labels = 1;
    k.labels = lp;
    k.n_by_id = 1;
    k.by_id = bp;
    k.child = &child;
    expect_json(
        &k.base, NULL,
        "{\"i32\":-5,\"i64\":\"-9223372036854775808\",\"u32\":4294967295,\"u64\":"
        "\"18446744073709551615\",\"s32\":-2147483648,\"s64\":\"9223372036854775807\",\"f32\":7,"
        "\"f64\":\"8\",\"sf32\":-9,\"sf64\":\"-10\",\"fl\":0.1,\"db\":1e+21,\"b\":true,\"str\":"
        "\"a\\\"b\\\\c\\n\\u0001\x7f \xC3\xA9\",\"by\":\"AP8Q\",\"en\":\"EVENT_TYPE_VIEW\","
        "\"rep_double\":[\"NaN\",\"-Infinity\",5e-324],\"rep_bytes\":[\"\",\"aGk=\"],\"rep_"
        "enum\":[\"EVENT_TYPE_RATING\",42],\"labels\":{\"x\":\"-1\"},\"by_id\":{\"7\":\"seven\"},"
        "\"child\":{\"i32\":1,\"i64\":\"0\",\"u32\":0,\"u64\":\"0\",\"s32\":0,\"s64\":\"0\","
        "\"f32\":0,\"f64\":\"0\",\"sf32\":0,\"sf64\":\"0\",\"fl\":0,\"db\":0,\"b\":false,\"str\":"
        "\"\",\"by\":\"\",\"en\":\"EVENT_TYPE_UNSPECIFIED\",\"rep_double\":[],\"rep_bytes\":[],"
        "\"rep_enum\":[],\"labels\":{},\"by_id\":{},\"child\":null,\"opt_value\":null},\"opt_"
        "value\":null}");
    k.has_opt_value = 1; /* explicit presence: written even though it is 0 */
    pbjson_opts_t sparse = {false, true, 0};
    k.child = NULL;
    k.n_rep_double = 0;
    k.n_rep_bytes = 0;
    k.n_rep_enum = 0;
    k.n_labels = 0;
    k.n_by_id = 0;
    k.by.len = 0;
    k.str = "";
    expect_json(&k.base, &sparse,
                "{\"i32\":-5,\"i64\":\"-9223372036854775808\",\"u32\":4294967295,\"u64\":"
                "\"18446744073709551615\",\"s32\":-2147483648,\"s64\":\"9223372036854775807\","
                "\"f32\":7,\"f64\":\"8\",\"sf32\":-9,\"sf64\":\"-10\",\"fl\":0.1,\"db\":1e+21,"
                "\"b\":true,\"en\":\"EVENT_TYPE_VIEW\",\"optValue\":0}");
}

/* Float layout as Go's strconv 'f'/'e' with shortest digits. */
static void test_float_format(void **state)
{
    struct {
        int is_float;
        double v;
        const char *want;
    } cases[] = {
        {1, 0.1, "0.1"},
        {1, 123456789.0, "123456790"},
        {1, FLT_MAX, "3.4028235e+38"},
        {1, 1e-6, "0.000001"},
        {1, 1e-7, "1e-7"},
        {1, -0.0, "-0"},
        {1, 1e-45, "1e-45"},
        {1, 16777216.0, "16777216"},
        {1, 3.14159265358979, "3.1415927"},
        {0, 0.1, "0.1"},
        {0, 1e21, "1e+21"},
        {0, 1e20, "100000000000000000000"},
        {0, 5e-324, "5e-324"},
        {0, 1.5, "1.5"},
        {0, 100, "100"},
        {0, -2.5e-7, "-2.5e-7"},
        {0, 1.7976931348623157e308, "1.7976931348623157e+308"},
        {0, 0.3, "0.3"},
        {0, 1.0 / 3, "0.3333333333333333"},
        {0, 123e-20, "1.23e-18"},
        {0, 1e-10, "1e-10"},
    };
    pbjson_opts_t sparse = {false, false, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Kitchen k;
        kitchen_init(&k.base);
        if (cases[i].is_float)
            k.fl = (float)cases[i].v;
        else
            k.db = cases[i].v;
        char want[128];
        snprintf(want, sizeof want, "{\"%s\":%s}", cases[i].is_float ? "fl" : "db",
                 cases[i].want);
        expect_json(&k.base, &sparse, want);
        /* ...and the text reads back to the very same value. */
        Kitchen *back = (Kitchen *)decode_ok(&kitchen_desc, want);
        if (cases[i].is_float)
            assert_memory_equal(&back->fl, &k.fl, sizeof k.fl);
        else
            assert_memory_equal(&back->db, &k.db, sizeof k.db);
        protobuf_c_message_free_unpacked(&back->base, NULL);
    }
}

/* ---- decoding ---- */

static void test_camel_case_input(void **state)
{
    Recsys__V1__ScoreRequest *s = (Recsys__V1__ScoreRequest *)decode_ok(
        &recsys__v1__score_request__descriptor,
        "{\"userId\":\"7\",\"candidateItemIds\":[\"a\",\"b\"],\"history\":[{\"itemId\":\"z\","
        "\"timestampMs\":\"5\"}],\"weights\":{\"content\":0.25,\"cf\":\"0.5\"}}");
    assert_string_equal(s->user_id, "7");
    assert_int_equal(s->n_candidate_item_ids, 2);
    assert_string_equal(s->candidate_item_ids[1], "b");
    assert_string_equal(s->history[0]->item_id, "z");
    assert_int_equal(s->history[0]->timestamp_ms, 5);
    assert_true(s->weights->content == 0.25f && s->weights->cf == 0.5f);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    Recsys__V1__SimilarItemsRequest *q = (Recsys__V1__SimilarItemsRequest *)decode_ok(
        &recsys__v1__similar_items_request__descriptor,
        "{\"itemId\":\"1\",\"filters\":{\"yearMin\":1990,\"year_max\":\"2000\",\"excludeItemIds\":"
        "[\"9\"],\"includeSeen\":true},\"mode\":2}");
    assert_int_equal(q->filters->year_min, 1990);
    assert_int_equal(q->filters->year_max, 2000);
    assert_string_equal(q->filters->exclude_item_ids[0], "9");
    assert_true(q->filters->include_seen);
    assert_int_equal(q->mode, RECSYS__V1__SIMILARITY_MODE__SIMILARITY_MODE_BEHAVIOUR);
    protobuf_c_message_free_unpacked(&q->base, NULL);
}

static void test_unknown_fields_ignored(void **state)
{
    Recsys__V1__GetItemRequest *g = (Recsys__V1__GetItemRequest *)decode_ok(
        &recsys__v1__get_item_request__descriptor,
        " {\"zzz\":{\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"\\u00e9\"},\"item_id\":\"42\","
        "\"extra\":[true,false,null,-0.5],\"ItemId\":1} \n");
    assert_string_equal(g->item_id, "42");
    protobuf_c_message_free_unpacked(&g->base, NULL);
    /* Unknown values must still be valid JSON. */
    EXPECT_ERROR(&recsys__v1__get_item_request__descriptor, "{\"zzz\":[1,]}",
                 "invalid JSON at offset 10: unexpected character");
}

static void test_null_means_default(void **state)
{
    Recsys__V1__RecommendRequest *r = (Recsys__V1__RecommendRequest *)decode_ok(
        &recsys__v1__recommend_request__descriptor,
        "{\"user_id\":null,\"history\":null,\"k\":null,\"filters\":null,\"weights\":null,"
        "\"explain\":null}");
    assert_string_equal(r->user_id, "");
    assert_int_equal(r->n_history, 0);
    assert_null(r->filters);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    /* A null oneof member does not select it. */
    Recsys__V1__WorkerRequest *w = (Recsys__V1__WorkerRequest *)decode_ok(
        &recsys__v1__worker_request__descriptor, "{\"score\":null,\"info\":{}}");
    assert_int_equal(w->body_case, RECSYS__V1__WORKER_REQUEST__BODY_INFO);
    assert_non_null(w->info);
    protobuf_c_message_free_unpacked(&w->base, NULL);
    EXPECT_ERROR(&recsys__v1__recommend_request__descriptor, "null",
                 "expected a JSON object for recsys.v1.RecommendRequest, got null");
}

static void test_oneof(void **state)
{
    Recsys__V1__WorkerRequest *w = (Recsys__V1__WorkerRequest *)decode_ok(
        &recsys__v1__worker_request__descriptor,
        "{\"requestId\":\"18446744073709551615\",\"deadline_ms\":250,\"similar\":{\"item_id\":"
        "\"3\",\"k\":5}}");
    assert_true(w->request_id == UINT64_MAX);
    assert_int_equal(w->body_case, RECSYS__V1__WORKER_REQUEST__BODY_SIMILAR);
    assert_string_equal(w->similar->item_id, "3");
    protobuf_c_message_free_unpacked(&w->base, NULL);
    EXPECT_ERROR(&recsys__v1__worker_request__descriptor, "{\"score\":{},\"similar\":{}}",
                 "similar: oneof members 'score' and 'similar' are both set");
    EXPECT_ERROR(&recsys__v1__worker_reply__descriptor,
                 "{\"scored\":{\"items\":[]},\"info\":{\"n_items\":1}}",
                 "info: oneof members 'scored' and 'info' are both set");
}

static void test_integers(void **state)
{
    const ProtobufCMessageDescriptor *K = &kitchen_desc;
    Kitchen *k = (Kitchen *)decode_ok(
        K, "{\"i64\":9007199254740993,\"u64\":\"18446744073709551615\",\"s64\":-9223372036854775808,"
           "\"sf64\":\"-9223372036854775808\",\"i32\":\"-2147483648\",\"u32\":4294967295,"
           "\"s32\":1e2,\"sf32\":\"5.0\",\"f32\":0,\"f64\":\"1E+3\",\"en\":\"EVENT_TYPE_LIKE\","
           "\"rep_enum\":[3,\"EVENT_TYPE_VIEW\",-7]}");
    assert_true(k->i64 == 9007199254740993LL); /* exact: never went through a double */
    assert_true(k->u64 == UINT64_MAX);
    assert_true(k->s64 == INT64_MIN && k->sf64 == INT64_MIN);
    assert_int_equal(k->i32, INT32_MIN);
    assert_true(k->u32 == UINT32_MAX);
    assert_int_equal(k->s32, 100);
    assert_int_equal(k->sf32, 5);
    assert_true(k->f64 == 1000);
    assert_int_equal(k->en, 4);
    assert_int_equal(k->n_rep_enum, 3);
    assert_int_equal(k->rep_enum[0], 3);
    assert_int_equal(k->rep_enum[1], 2);
    assert_int_equal(k->rep_enum[2], -7);
    protobuf_c_message_free_unpacked(&k->base, NULL);
    EXPECT_ERROR(K, "{\"i64\":9223372036854775808}",
                 "i64: 9223372036854775808 is out of range for int64");
    EXPECT_ERROR(K, "{\"u64\":\"-1\"}", "u64: -1 is out of range for uint64");
    EXPECT_ERROR(K, "{\"u64\":18446744073709551616}",
                 "u64: 18446744073709551616 is out of range for uint64");
    EXPECT_ERROR(K, "{\"u32\":4294967296}", "u32: 4294967296 is out of range for uint32");
    EXPECT_ERROR(K, "{\"i64\":1e100}", "i64: 1e100 is out of range for int64");
    EXPECT_ERROR(K, "{\"i64\":\"1.000001\"}", "i64: 1.000001 is not an integer");
    EXPECT_ERROR(K, "{\"i64\":\" 1\"}", "i64: expected integer, got string \" 1\"");
    EXPECT_ERROR(K, "{\"i32\":\"\"}", "i32: expected integer, got string \"\"");
    EXPECT_ERROR(K, "{\"en\":2147483648}", "en: 2147483648 is out of range for enum");
    /* zero with any exponent, and tiny fractions of zero, are integers */
    Kitchen *z = (Kitchen *)decode_ok(K, "{\"i64\":0e99999999999,\"i32\":-0.0}");
    assert_true(z->i64 == 0 && z->i32 == 0);
    protobuf_c_message_free_unpacked(&z->base, NULL);
}

static void test_floats_and_specials(void **state)
{
    const ProtobufCMessageDescriptor *K = &kitchen_desc;
    Kitchen *k = (Kitchen *)decode_ok(
        K, "{\"fl\":\"NaN\",\"db\":\"-Infinity\",\"rep_double\":[\"Infinity\",\"1.5\",-0,1e-400,"
           "2]}");
    assert_true(isnan(k->fl));
    assert_true(isinf(k->db) && k->db < 0);
    assert_int_equal(k->n_rep_double, 5);
    assert_true(isinf(k->rep_double[0]) && k->rep_double[0] > 0);
    assert_true(k->rep_double[1] == 1.5);
    assert_true(k->rep_double[2] == 0 && signbit(k->rep_double[2]));
    assert_true(k->rep_double[3] == 0); /* underflow reads as 0, as in Go */
    protobuf_c_message_free_unpacked(&k->base, NULL);
    pbjson_opts_t sparse = {false, false, 0};
    Kitchen n;
    kitchen_init(&n.base);
    n.fl = -INFINITY;
    n.db = NAN;
    expect_json(&n.base, &sparse, "{\"fl\":\"-Infinity\",\"db\":\"NaN\"}");
    EXPECT_ERROR(K, "{\"fl\":3.5e38}", "fl: 3.5e38 is out of range for float");
    EXPECT_ERROR(K, "{\"db\":1e309}", "db: 1e309 is out of range for double");
    EXPECT_ERROR(K, "{\"db\":\"nan\"}", "db: expected number, got string \"nan\"");
    EXPECT_ERROR(K, "{\"db\":NaN}", "invalid JSON at offset 6: unexpected character");
    EXPECT_ERROR(K, "{\"fl\":true}", "fl: expected number, got boolean");
}

static void test_base64(void **state)
{
    const ProtobufCMessageDescriptor *K = &kitchen_desc;
    const char *forms[] = {"{\"by\":\"+/8=\"}", "{\"by\":\"-_8=\"}", "{\"by\":\"+/8\"}",
                           "{\"by\":\"-_8\"}"};
    for (size_t i = 0; i < 4; i++) {
        Kitchen *k = (Kitchen *)decode_ok(K, forms[i]);
        assert_int_equal(k->by.len, 2);
        assert_int_equal(k->by.data[0], 0xfb);
        assert_int_equal(k->by.data[1], 0xff);
        protobuf_c_message_free_unpacked(&k->base, NULL);
    }
    Kitchen *k = (Kitchen *)decode_ok(K, "{\"by\":\"\",\"rep_bytes\":[\"aGk\",\"\",\"AAAA\"]}");
    assert_int_equal(k->by.len, 0);
    assert_null(k->by.data);
    assert_int_equal(k->n_rep_bytes, 3);
    assert_memory_equal(k->rep_bytes[0].data, "hi", 2);
    assert_int_equal(k->rep_bytes[1].len, 0);
    assert_int_equal(k->rep_bytes[2].len, 3);
    pbjson_opts_t sparse = {false, false, 0};
    expect_json(&k->base, &sparse, "{\"rep_bytes\":[\"aGk=\",\"\",\"AAAA\"]}");
    protobuf_c_message_free_unpacked(&k->base, NULL);
    EXPECT_ERROR(K, "{\"by\":\"a\"}", "by: invalid base64 \"a\"");
    EXPECT_ERROR(K, "{\"by\":\"ab=c\"}", "by: invalid base64 \"ab=c\"");
    EXPECT_ERROR(K, "{\"by\":\"a b=\"}", "by: invalid base64 \"a b=\"");
    EXPECT_ERROR(K, "{\"by\":\"====\"}", "by: invalid base64 \"====\"");
    EXPECT_ERROR(K, "{\"by\":[1]}", "by: expected base64 string, got array");
}

static void test_strings_and_utf8(void **state)
{
    const ProtobufCMessageDescriptor *G = &recsys__v1__get_item_request__descriptor;
    Recsys__V1__GetItemRequest *g = (Recsys__V1__GetItemRequest *)decode_ok(
        G, "{\"item_id\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u4e2d\\ud83d\\ude00\xC3\xA9\"}");
    assert_string_equal(g->item_id, "\"\\/\b\f\n\r\t\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xC3\xA9");
    expect_json(&g->base, NULL,
                "{\"item_id\":\"\\\"\\\\/\\b\\f\\n\\r\\t\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xC3\xA9\"}");
    protobuf_c_message_free_unpacked(&g->base, NULL);
    /* Invalid UTF-8 is rejected on input and replaced by U+FFFD on output. */
    EXPECT_ERROR(G, "{\"item_id\":\"\xff\"}", "invalid JSON at offset 12: invalid UTF-8 in string");
    EXPECT_ERROR(G, "{\"item_id\":\"\xC0\xAF\"}",
                 "invalid JSON at offset 12: invalid UTF-8 in string");
    EXPECT_ERROR(G, "{\"item_id\":\"\xED\xA0\x80\"}",
                 "invalid JSON at offset 12: invalid UTF-8 in string");
    EXPECT_ERROR(G, "{\"item_id\":\"\\ud800x\"}",
                 "invalid JSON at offset 12: unpaired UTF-16 surrogate in \\u escape");
    EXPECT_ERROR(G, "{\"item_id\":\"\\udc00\"}",
                 "invalid JSON at offset 12: unpaired UTF-16 surrogate in \\u escape");
    EXPECT_ERROR(G, "{\"item_id\":\"\\u0000\"}",
                 "invalid JSON at offset 12: \\u0000 (NUL) is not allowed in strings");
    EXPECT_ERROR(G, "{\"item_id\":\"a\x01\"}", "invalid JSON at offset 13: control character in string");
    EXPECT_ERROR(G, "{\"item_id\":\"\\x\"}", "invalid JSON at offset 12: bad escape in string");
    EXPECT_ERROR(G, "{\"item_id\":\"\\u12\"}", "invalid JSON at offset 12: bad \\u escape");
    EXPECT_ERROR(G, "{\"item_id\":\"abc", "invalid JSON at offset 12: unterminated string");
    expect_error(G, "{\"item_id\":\"a\0b\"}", 17, "invalid JSON at offset 13: control character in string");
    Recsys__V1__GetItemRequest bad = RECSYS__V1__GET_ITEM_REQUEST__INIT;
    bad.item_id = "a\xff" "b\xE4\xB8";
    expect_json(&bad.base, NULL, "{\"item_id\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\"}");
}

static void test_errors(void **state)
{
    const ProtobufCMessageDescriptor *R = &recsys__v1__recommend_request__descriptor;
    EXPECT_ERROR(R, "{\"k\":1.5}", "k: 1.5 is not an integer");
    EXPECT_ERROR(R, "{\"filters\":{\"year_min\":\"x\"}}",
                 "filters.year_min: expected integer, got string \"x\"");
    EXPECT_ERROR(R, "{\"filters\":{\"yearMin\":{}}}", "filters.year_min: expected integer, got object");
    EXPECT_ERROR(R, "{\"history\":[{},{\"rating\":\"abc\"}]}",
                 "history[1].rating: expected number, got string \"abc\"");
    EXPECT_ERROR(R, "{\"history\":[{},{\"rating\":{}}]}",
                 "history[1].rating: expected number, got object");
    EXPECT_ERROR(R, "{\"k\":2147483648}", "k: 2147483648 is out of range for int32");
    EXPECT_ERROR(R, "{\"k\":\"-2147483649\"}", "k: -2147483649 is out of range for int32");
    EXPECT_ERROR(R, "{\"k\":true}", "k: expected integer, got boolean");
    EXPECT_ERROR(R, "{\"user_id\":5}", "user_id: expected string, got number 5");
    EXPECT_ERROR(R, "{\"explain\":\"yes\"}", "explain: expected boolean, got string \"yes\"");
    EXPECT_ERROR(R, "{\"explain\":1}", "explain: expected boolean, got number 1");
    EXPECT_ERROR(R, "{\"history\":{}}", "history: expected array, got object");
    EXPECT_ERROR(R, "{\"filters\":[]}", "filters: expected object, got array");
    EXPECT_ERROR(R, "{\"history\":[{\"type\":\"EVENT_TYPE_NOPE\"}]}",
                 "history[0].type: unknown value \"EVENT_TYPE_NOPE\" for enum recsys.v1.EventType");
    EXPECT_ERROR(R, "{\"history\":[{\"type\":2.5}]}", "history[0].type: 2.5 is not an integer");
    EXPECT_ERROR(R, "{\"history\":[{\"type\":[]}]}",
                 "history[0].type: expected enum name or number, got array");
    EXPECT_ERROR(R, "{\"user_id\":\"a\",\"userId\":\"b\"}", "user_id: field given twice (as \"userId\")");
    EXPECT_ERROR(R, "{\"history\":[],\"history\":[]}", "history: field given twice (as \"history\")");
    EXPECT_ERROR(R, "{\"history\":[{},null]}", "history[1]: null is not allowed in a repeated field");
    EXPECT_ERROR(R, "{\"k\":1,}", "invalid JSON at offset 7: expected a string key");
    EXPECT_ERROR(R, "{\"k\" 1}", "invalid JSON at offset 5: expected ':'");
    EXPECT_ERROR(R, "{\"k\":1 \"x\":2}", "invalid JSON at offset 7: expected ',' or '}'");
    EXPECT_ERROR(R, "{\"history\":[{} {}]}", "invalid JSON at offset 15: expected ',' or ']'");
    EXPECT_ERROR(R, "{\"k\":1} x", "invalid JSON at offset 8: unexpected data after the object");
    EXPECT_ERROR(R, "{\"k\":1}{}", "invalid JSON at offset 7: unexpected data after the object");
    EXPECT_ERROR(R, "", "empty JSON input, expected an object for recsys.v1.RecommendRequest");
    EXPECT_ERROR(R, "  \n", "empty JSON input, expected an object for recsys.v1.RecommendRequest");
    EXPECT_ERROR(R, "[]", "expected a JSON object for recsys.v1.RecommendRequest, got array");
    EXPECT_ERROR(R, "{", "invalid JSON at offset 1: expected a string key");
    EXPECT_ERROR(R, "{\"k\":", "invalid JSON at offset 5: unexpected character");
    EXPECT_ERROR(R, "{\"k\":01}", "invalid JSON at offset 6: expected ',' or '}'");
    EXPECT_ERROR(R, "{\"k\":-}", "invalid JSON at offset 5: bad number");
    EXPECT_ERROR(R, "{\"k\":1.}", "invalid JSON at offset 5: bad number");
    EXPECT_ERROR(R, "{\"user_id\":tru}", "invalid JSON at offset 11: unexpected character");
    EXPECT_ERROR(R, "{'k':1}", "invalid JSON at offset 1: expected a string key");
    EXPECT_ERROR(R, "\xEF\xBB\xBF{}", "expected a JSON object for recsys.v1.RecommendRequest, got invalid JSON");
    EXPECT_ERROR(&recsys__v1__similar_items_request__descriptor, "{\"mode\":\"FOO\"}",
                 "mode: unknown value \"FOO\" for enum recsys.v1.SimilarityMode");
    EXPECT_ERROR(&recsys__v1__worker_request__descriptor, "{\"request_id\":\"-1\"}",
                 "request_id: -1 is out of range for uint64");
    EXPECT_ERROR(&recsys__v1__history_event__descriptor, "{\"timestamp_ms\":9223372036854775808}",
                 "timestamp_ms: 9223372036854775808 is out of range for int64");
    EXPECT_ERROR(&recsys__v1__history_event__descriptor, "{\"rating\":1e39}",
                 "rating: 1e39 is out of range for float");
    EXPECT_ERROR(&recsys__v1__add_feedback_request__descriptor,
                 "{\"events\":[{\"user_id\":\"u\"},{\"timestamp_ms\":\"soon\"}]}",
                 "events[1].timestamp_ms: expected integer, got string \"soon\"");
    /* Long values are shortened in messages. */
    EXPECT_ERROR(R, "{\"k\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                 "k: expected integer, got string \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}

static void test_maps(void **state)
{
    const ProtobufCMessageDescriptor *K = &kitchen_desc;
    assert_true(pbjson_is_map_field(K, &kitchen_fields[19]));
    assert_true(pbjson_is_map_field(K, &kitchen_fields[20]));
    assert_false(pbjson_is_map_field(K, &kitchen_fields[21]));
    assert_false(pbjson_is_map_field(K, &kitchen_fields[18]));
    /* No recsys message has a map: none of its repeated messages is taken for one. */
    for (size_t i = 0; i + 1 < sizeof all_descs / sizeof all_descs[0]; i++)
        for (unsigned f = 0; f < all_descs[i]->n_fields; f++)
            assert_false(pbjson_is_map_field(all_descs[i], &all_descs[i]->fields[f]));
    /* An entry type nested elsewhere, or named otherwise, is not a map entry. */
    ProtobufCFieldDescriptor renamed = kitchen_fields[19];
    renamed.name = "label";
    assert_false(pbjson_is_map_field(K, &renamed));
    assert_false(pbjson_is_map_field(&by_id_desc, &kitchen_fields[19]));

    Kitchen *k = (Kitchen *)decode_ok(
        K, "{\"labels\":{\"a\":\"1\",\"\":-2,\"c\\\"\":3},\"byId\":{\"7\":\"x\",\"-3\":\"\"}}");
    assert_int_equal(k->n_labels, 3);
    assert_string_equal(k->labels[0]->key, "a");
    assert_int_equal(k->labels[0]->value, 1);
    assert_string_equal(k->labels[1]->key, "");
    assert_int_equal(k->labels[1]->value, -2);
    assert_string_equal(k->labels[2]->key, "c\"");
    assert_int_equal(k->n_by_id, 2);
    assert_int_equal(k->by_id[1]->key, -3);
    assert_string_equal(k->by_id[1]->value, "");
    pbjson_opts_t sparse = {false, false, 0};
    expect_json(&k->base, &sparse,
                "{\"labels\":{\"a\":\"1\",\"\":\"-2\",\"c\\\"\":\"3\"},\"by_id\":{\"7\":\"x\","
                "\"-3\":\"\"}}");
    protobuf_c_message_free_unpacked(&k->base, NULL);
    EXPECT_ERROR(K, "{\"labels\":{\"a\":null}}", "labels[\"a\"]: null is not allowed as a map value");
    EXPECT_ERROR(K, "{\"by_id\":{\"x\":\"y\"}}", "by_id[\"x\"]: bad map key \"x\"");
    EXPECT_ERROR(K, "{\"by_id\":{\"1.5\":\"y\"}}", "by_id[\"1.5\"]: 1.5 is not an integer");
    EXPECT_ERROR(K, "{\"by_id\":{\"1\":2}}", "by_id[\"1\"]: expected string, got number 2");
    EXPECT_ERROR(K, "{\"labels\":[]}", "labels: expected object, got array");
}

static void test_limits(void **state)
{
    const ProtobufCMessageDescriptor *K = &kitchen_desc;
    /* 64 nested objects are fine, 65 are not (default depth limit). */
    char buf[2048];
    for (int depth = 64; depth <= 65; depth++) {
        size_t n = 0;
        for (int i = 1; i < depth; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"child\":");
        n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"i32\":%d}", depth);
        for (int i = 1; i < depth; i++)
            buf[n++] = '}';
        buf[n] = '\0';
        err_t err;
        ProtobufCMessage *m = pbjson_decode(K, buf, n, &err);
        if (depth == 64) {
            assert_non_null(m);
            Kitchen *k = (Kitchen *)m;
            int levels = 1;
            while (k->child != NULL) {
                k = k->child;
                levels++;
            }
            assert_int_equal(levels, 64);
            assert_int_equal(k->i32, 64);
            protobuf_c_message_free_unpacked(m, NULL);
        } else {
            assert_null(m);
            assert_non_null(strstr(err.msg, "JSON nested deeper than 64 levels"));
            assert_true(strncmp(err.msg, "child.child.child.", 18) == 0);
        }
    }
    /* Unknown fields count too: a deep hostile value is refused, not recursed into. */
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"x\":");
    for (int i = 0; i < 1000; i++)
        buf[n++] = '[';
    buf[n] = '\0';
    expect_error(K, buf, n, "x: JSON nested deeper than 64 levels");
    /* Explicit limits. */
    pbjson_limits_t lim = {10, 2, 3};
    err_t err;
    assert_null(pbjson_decode_ex(K, "{\"i32\":1234567}", 15, &lim, &err));
    assert_string_equal(err.msg, "JSON input of 15 bytes exceeds the limit of 10");
    lim.max_bytes = 0;
    ProtobufCMessage *m = pbjson_decode_ex(K, "{\"child\":{}}", 12, &lim, &err);
    assert_non_null(m);
    protobuf_c_message_free_unpacked(m, NULL);
    assert_null(pbjson_decode_ex(K, "{\"child\":{\"child\":{}}}", 22, &lim, &err));
    assert_string_equal(err.msg, "child.child: JSON nested deeper than 2 levels");
    const char *four = "{\"rep_double\":[1,2],\"rep_enum\":[1,2]}";
    assert_null(pbjson_decode_ex(K, four, strlen(four), &lim, &err));
    assert_string_equal(err.msg, "rep_enum[1]: more than 3 repeated elements in the request");
    /* A failure half-way through a big message frees everything (ASan checks). */
    const char *half = "{\"str\":\"s\",\"labels\":{\"a\":1},\"child\":{\"rep_bytes\":[\"aGk=\"],"
                       "\"str\":\"t\",\"child\":{\"by\":\"!\"}}}";
    expect_error(K, half, strlen(half), "child.child.by: invalid base64 \"!\"");
}

/* Empty singular strings point at the descriptor's default, as after
 * protobuf-c's init; everything else is heap memory owned by the message. */
static void test_memory_layout(void **state)
{
    Recsys__V1__ScoreRequest *s = (Recsys__V1__ScoreRequest *)decode_ok(
        &recsys__v1__score_request__descriptor,
        "{\"user_id\":\"\",\"candidate_item_ids\":[\"\",\"a\"]}");
    assert_ptr_equal(s->user_id, protobuf_c_empty_string);
    assert_ptr_not_equal(s->candidate_item_ids[0], protobuf_c_empty_string);
    assert_string_equal(s->candidate_item_ids[0], "");
    /* protobuf-c packs it and unpacks it to an equal message. */
    size_t len;
    uint8_t *buf = pack(&s->base, &len);
    Recsys__V1__ScoreRequest *u = recsys__v1__score_request__unpack(NULL, len, buf);
    assert_non_null(u);
    assert_int_equal(u->n_candidate_item_ids, 2);
    assert_string_equal(u->candidate_item_ids[1], "a");
    recsys__v1__score_request__free_unpacked(u, NULL);
    free(buf);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void test_names_and_options(void **state)
{
    char b[64];
    pbjson_camel_name("user_id", b, sizeof b);
    assert_string_equal(b, "userId");
    pbjson_camel_name("candidate_item_ids", b, sizeof b);
    assert_string_equal(b, "candidateItemIds");
    pbjson_camel_name("_x__y_1z", b, sizeof b);
    assert_string_equal(b, "XY1z");
    pbjson_camel_name("abcdef", b, 4);
    assert_string_equal(b, "abc");

    err_t err;
    cfg_t *c = cfg_new("t", NULL, NULL);
    assert_int_equal(cfg_add(c, "json", pbjson_options, &err), 0);
    char *argv[] = {"t", "--json-max-depth=8", "--no-json-emit-defaults", NULL};
    assert_int_equal(cfg_parse(c, 3, argv, &err), 0);
    pbjson_opts_t o;
    pbjson_limits_t lim;
    pbjson_setup_cfg(c, &o, &lim);
    assert_false(o.emit_defaults);
    assert_false(o.camel_case);
    assert_int_equal(lim.max_depth, 8);
    assert_int_equal(lim.max_bytes, PBJSON_DEFAULT_MAX_BYTES);
    assert_int_equal(lim.max_elements, PBJSON_DEFAULT_MAX_ELEMENTS);
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_messages),
        cmocka_unit_test(test_golden_recommend_request),
        cmocka_unit_test(test_golden_worker_reply),
        cmocka_unit_test(test_golden_kitchen),
        cmocka_unit_test(test_float_format),
        cmocka_unit_test(test_camel_case_input),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_null_means_default),
        cmocka_unit_test(test_oneof),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats_and_specials),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_strings_and_utf8),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_maps),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_memory_layout),
        cmocka_unit_test(test_names_and_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
