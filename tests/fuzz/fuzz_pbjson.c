/* fuzz_pbjson.c: JSON decoding of the public requests never crashes, and
 * whatever it accepts survives encode -> decode unchanged.
 *
 * The first byte picks the request type (and the encoder options); the rest
 * is the JSON text. An accepted message is encoded, decoded again (which must
 * succeed), and both must pack to the same protobuf bytes; encoding the
 * second must give the same JSON. A refusal must come with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/pbjson.h"
#include "recsys/v1/recommender.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[] = {
    &recsys__v1__recommend_request__descriptor,     &recsys__v1__similar_items_request__descriptor,
    &recsys__v1__score_request__descriptor,         &recsys__v1__add_feedback_request__descriptor,
    &recsys__v1__get_item_request__descriptor,      &recsys__v1__search_items_request__descriptor,
};

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    if (buf == NULL || protobuf_c_message_pack(m, buf) != *len)
        abort();
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    const ProtobufCMessageDescriptor *d = types[data[0] % 6];
    pbjson_opts_t o = {(data[0] & 0x08) == 0, (data[0] & 0x10) != 0, (data[0] & 0x20) ? 1 : 0};
    pbjson_limits_t lim = {0, 0, 20000};
    err_t err;
    err_clear(&err);
    ProtobufCMessage *m = pbjson_decode_ex(d, (const char *)data + 1, size - 1, &lim, &err);
    if (m == NULL) {
        if (err.msg[0] == '\0')
            abort(); /* every refusal says why */
        return 0;
    }
    size_t jlen, la, lb;
    char *json = pbjson_encode(m, &o, &jlen, &err);
    if (json == NULL)
        abort();
    ProtobufCMessage *m2 = pbjson_decode_ex(d, json, jlen, &lim, &err);
    if (m2 == NULL) {
        fprintf(stderr, "re-decode failed: %s\n%s\n", err.msg, json);
        abort();
    }
    uint8_t *a = pack(m, &la), *b = pack(m2, &lb);
    if (la != lb || memcmp(a, b, la) != 0) {
        fprintf(stderr, "protobuf bytes differ after JSON round trip\n%s\n", json);
        abort();
    }
    char *json2 = pbjson_encode(m2, &o, NULL, &err);
    if (json2 == NULL || strcmp(json, json2) != 0) {
        fprintf(stderr, "JSON differs after round trip\n%s\n%s\n", json, json2 ? json2 : "");
        abort();
    }
    free(json2);
    free(a);
    free(b);
    free(json);
    protobuf_c_message_free_unpacked(m2, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
