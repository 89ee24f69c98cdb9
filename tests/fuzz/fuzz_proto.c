/* fuzz_proto.c: protobuf-c unpacking of every message the services receive
 * (the worker envelopes and bodies, the public requests) never crashes, and
 * what it accepts is stable: packed, unpacked and packed again it gives the
 * same bytes. Accepted messages are also written as JSON, which must decode
 * and re-encode to the same text (the gateway's JSON path for replies).
 *
 * The first byte picks the message type; the rest is the protobuf buffer.
 *
 * protobuf-c 1.4.1 quirk found by this target: a tag for field number 0 is
 * refused in its one-byte form (0x02) but accepted in a longer varint form
 * (0x82 0x00) and kept as an unknown field, which pack() then writes in the
 * one-byte form that unpack() refuses. Messages carrying such a field are
 * exempt from the re-unpack check (test_proto.c pins the behaviour). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/pbjson.h"
#include "recsys/v1/recommender.pb-c.h"
#include "recsys/v1/worker.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[] = {
    &recsys__v1__worker_request__descriptor,
    &recsys__v1__worker_reply__descriptor,
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
    &recsys__v1__recommend_request__descriptor,
    &recsys__v1__similar_items_request__descriptor,
    &recsys__v1__score_request__descriptor,
    &recsys__v1__add_feedback_request__descriptor,
    &recsys__v1__get_item_request__descriptor,
    &recsys__v1__search_items_request__descriptor,
};
#define N_TYPES (sizeof types / sizeof types[0])

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    if (buf == NULL || protobuf_c_message_pack(m, buf) != *len)
        abort();
    return buf;
}

/* True when m or a message inside it kept an unknown field numbered 0. */
static int has_field_zero(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return 1;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (has_field_zero(arr[j]))
                    return 1;
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
            if (sub != NULL && has_field_zero(sub))
                return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    const ProtobufCMessageDescriptor *d = types[data[0] % N_TYPES];
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
    if (m == NULL)
        return 0;
    size_t la, lb;
    uint8_t *a = pack(m, &la);
    ProtobufCMessage *u = protobuf_c_message_unpack(d, NULL, la, a);
    if (u == NULL && !has_field_zero(m))
        abort(); /* our own packing must be readable */
    uint8_t *b = u != NULL ? pack(u, &lb) : NULL;
    if (u != NULL && (la != lb || memcmp(a, b, la) != 0))
        abort();

    err_t err;
    size_t jlen;
    pbjson_opts_t o = {(data[0] & 0x80) == 0, false, 0};
    char *json = pbjson_encode(m, &o, &jlen, &err);
    if (json == NULL)
        abort();
    ProtobufCMessage *back = pbjson_decode(d, json, jlen, &err);
    if (back == NULL) {
        fprintf(stderr, "encoder output refused by the decoder: %s\n%s\n", err.msg, json);
        abort();
    }
    char *json2 = pbjson_encode(back, &o, NULL, &err);
    if (json2 == NULL || strcmp(json, json2) != 0) {
        fprintf(stderr, "JSON differs after round trip\n%s\n%s\n", json, json2 ? json2 : "");
        abort();
    }
    free(json2);
    protobuf_c_message_free_unpacked(back, NULL);
    free(json);
    free(b);
    free(a);
    if (u != NULL)
        protobuf_c_message_free_unpacked(u, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
