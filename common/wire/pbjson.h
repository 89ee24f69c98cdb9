/*
 * pbjson.h: the proto3 JSON mapping for any protobuf-c message, driven by its
 * descriptor (no per-message code).
 *
 * Encoding follows what a Twirp v8 Go server emits (protojson with
 * UseProtoNames and EmitUnpopulated): proto field names; every field of the
 * message written, unset sub-messages as null, empty repeated fields as [],
 * empty maps as {}, unset oneof members omitted; 64-bit integers as strings;
 * floats as the shortest decimal that reads back to the same value, in Go's
 * layout (1e-7, 0.5, 1e+21), NaN and infinities as "NaN", "Infinity",
 * "-Infinity"; bytes as standard base64 with padding; enums by name (a value
 * the enum does not define as its number). Invalid UTF-8 in a string field
 * (possible in data loaded from files) is written as U+FFFD rather than
 * failing the whole response.
 *
 * Decoding accepts proto names and lowerCamelCase names, ignores unknown
 * fields, takes null as "not set", 64-bit integers as strings or numbers
 * (parsed exactly from the text, never through a double), 32-bit integers as
 * numbers or numeric strings (1e2 and 5.0 are integers, 1.5 is not), floats as
 * numbers, numeric strings or "NaN"/"Infinity"/"-Infinity", enums as names or
 * numbers (an unknown name is an error), bytes as standard or URL-safe base64
 * with or without padding. Strings must be valid UTF-8 without NUL (a C
 * string cannot hold one). A field given twice, two members of one oneof, a
 * wrong JSON type or a bad value is an error naming the field path:
 *   filters.year_min: expected integer, got string "x"
 *   history[1].rating: expected number, got object
 * Input size, nesting depth and the number of repeated elements are limited.
 *
 * Memory: a decoded message is laid out as protobuf_c_message_unpack() would
 * lay it out (every string, array and sub-message from malloc, empty
 * singular strings pointing at the descriptor's default), so
 * protobuf_c_message_free_unpacked(msg, NULL) frees it.
 *
 * Maps: protobuf-c descriptors carry no map-entry flag. A field is treated as
 * a map when it is a repeated message whose type is nested in the containing
 * message, is named <CamelCaseFieldName>Entry (protoc's own naming), and has
 * exactly the fields key = 1 (an integral, bool or string type) and value = 2.
 * Duplicate map keys are kept as separate entries, as protobuf-c's unpack does.
 */
#ifndef RECSYS_COMMON_PBJSON_H
#define RECSYS_COMMON_PBJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "common/base/config.h"
#include "common/base/err.h"

typedef struct pbjson_opts {
    bool emit_defaults; /* write unpopulated fields (Twirp v8 default: true) */
    bool camel_case;    /* lowerCamelCase names instead of proto names */
    int indent;         /* 0 = compact; n > 0 = one member per line, n spaces a level */
} pbjson_opts_t;

/* What a Twirp v8 server does by default; NULL options mean the same. */
#define PBJSON_OPTS_TWIRP {true, false, 0}

typedef struct pbjson_limits {
    size_t max_bytes;    /* input size; 0 = PBJSON_DEFAULT_MAX_BYTES */
    int max_depth;       /* nested objects/arrays; 0 = PBJSON_DEFAULT_MAX_DEPTH */
    size_t max_elements; /* repeated elements + map entries in total; 0 = default */
} pbjson_limits_t;

#define PBJSON_DEFAULT_MAX_BYTES (4u << 20)
#define PBJSON_DEFAULT_MAX_DEPTH 64
#define PBJSON_DEFAULT_MAX_ELEMENTS 262144

/* Options of this module: json-emit-defaults, json-camel-case, json-max-bytes,
 * json-max-depth, json-max-elements. */
extern const cfg_option_t pbjson_options[];

/* Reads pbjson_options from a parsed configuration into opts and lim. */
void pbjson_setup_cfg(const cfg_t *cfg, pbjson_opts_t *opts, pbjson_limits_t *lim);

/* JSON text of m (malloc'd, NUL-terminated; its length in *len when len is
 * not NULL). o may be NULL (PBJSON_OPTS_TWIRP). NULL with err set on failure
 * (out of memory, nesting deeper than 100 levels). */
char *pbjson_encode(const ProtobufCMessage *m, const pbjson_opts_t *o, size_t *len, err_t *err);

/* Parses json[0..len) as a message of type d with the default limits. Free
 * the result with protobuf_c_message_free_unpacked(msg, NULL). NULL with err
 * set on any error. */
ProtobufCMessage *pbjson_decode(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                                err_t *err);
/* The same with explicit limits (lim may be NULL). */
ProtobufCMessage *pbjson_decode_ex(const ProtobufCMessageDescriptor *d, const char *json,
                                   size_t len, const pbjson_limits_t *lim, err_t *err);

/* The proto3 JSON name of a proto field name ("user_id" -> "userId"), as
 * protoc derives json_name, into buf (truncated to size). */
void pbjson_camel_name(const char *proto_name, char *buf, size_t size);

/* True when field f of message d is a map field (see above). */
bool pbjson_is_map_field(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f);

#endif
