/*
 * pbjson_internal.h: helpers shared by pbjson_encode.c and pbjson_decode.c
 * (not part of the public API). Field storage follows protobuf-c's layout:
 * a repeated field is a count (size_t at quantifier_offset) and an array
 * pointer (at offset); a oneof member's case (uint32_t) sits at
 * quantifier_offset; a proto2/proto3-optional scalar has its has_ flag there.
 */
#ifndef RECSYS_COMMON_PBJSON_INTERNAL_H
#define RECSYS_COMMON_PBJSON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define PBJSON_MEMBER(msg, off) ((void *)((char *)(msg) + (off)))

/* Size of one element of a repeated field of this type (what protobuf-c's
 * sizeof_elt_in_repeated_array returns). */
static inline size_t pbjson_elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4; /* 32-bit integers, float, enum */
    }
}

/* A field whose presence is tracked by a has_ flag (proto2 optional scalars). */
static inline int pbjson_has_flag(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

#endif
