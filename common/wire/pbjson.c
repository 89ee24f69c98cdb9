/*
 * pbjson.c: the parts of the proto3 JSON codec shared by encoder and decoder:
 * JSON names, map-field detection and the module's options (see pbjson.h).
 */
#include "common/wire/pbjson.h"

#include <string.h>

const cfg_option_t pbjson_options[] = {
    {"json-emit-defaults", CFG_BOOL, "true",
     "Write unpopulated fields in JSON responses (zero values, [], null), as Twirp v8 does.", 0, 0},
    {"json-camel-case", CFG_BOOL, "false",
     "Write lowerCamelCase field names in JSON responses instead of proto names.", 0, 0},
    {"json-max-bytes", CFG_INT, "4194304", "Largest JSON request body accepted, in bytes.", 1,
     1 << 30},
    {"json-max-depth", CFG_INT, "64", "Deepest nesting of objects and arrays in a JSON request.",
     1, 1000},
    {"json-max-elements", CFG_INT, "262144",
     "Most repeated-field elements and map entries in one JSON request.", 1, 1 << 30},
    CFG_END,
};

void pbjson_setup_cfg(const cfg_t *cfg, pbjson_opts_t *opts, pbjson_limits_t *lim)
{
    if (opts != NULL) {
        opts->emit_defaults = cfg_bool(cfg, "json-emit-defaults");
        opts->camel_case = cfg_bool(cfg, "json-camel-case");
        opts->indent = 0;
    }
    if (lim != NULL) {
        lim->max_bytes = (size_t)cfg_int(cfg, "json-max-bytes");
        lim->max_depth = (int)cfg_int(cfg, "json-max-depth");
        lim->max_elements = (size_t)cfg_int(cfg, "json-max-elements");
    }
}

/* protoc's ToJsonName: drop each '_' and upper-case the letter after it. */
void pbjson_camel_name(const char *proto_name, char *buf, size_t size)
{
    size_t n = 0;
    int up = 0;
    if (size == 0)
        return;
    for (const char *s = proto_name; *s != '\0' && n + 1 < size; s++) {
        if (*s == '_') {
            up = 1;
            continue;
        }
        char c = *s;
        if (up && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        up = 0;
        buf[n++] = c;
    }
    buf[n] = '\0';
}

static bool is_map_key_type(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_FLOAT && t != PROTOBUF_C_TYPE_DOUBLE &&
           t != PROTOBUF_C_TYPE_ENUM && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}

/* protoc names the entry type of map field "foo_bar" "FooBarEntry" and nests
 * it in the message declaring the field; checking all of that, plus the
 * key = 1 / value = 2 shape, makes a false positive practically impossible. */
bool pbjson_is_map_field(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE ||
        f->descriptor == NULL)
        return false;
    const ProtobufCMessageDescriptor *e = f->descriptor;
    if (e->n_fields != 2 || e->name == NULL || e->short_name == NULL || d->name == NULL)
        return false;
    const ProtobufCFieldDescriptor *k = &e->fields[0], *v = &e->fields[1];
    if (k->id != 1 || v->id != 2 || strcmp(k->name, "key") != 0 || strcmp(v->name, "value") != 0)
        return false;
    if (k->label == PROTOBUF_C_LABEL_REPEATED || v->label == PROTOBUF_C_LABEL_REPEATED ||
        !is_map_key_type(k->type))
        return false;
    size_t plen = strlen(d->name);
    if (strncmp(e->name, d->name, plen) != 0 || e->name[plen] != '.' ||
        strcmp(e->name + plen + 1, e->short_name) != 0)
        return false;
    /* Expected entry name: CamelCase(field name) + "Entry". */
    char want[256];
    size_t n = 0;
    int up = 1;
    for (const char *s = f->name; *s != '\0'; s++) {
        if (n + 7 >= sizeof want)
            return false;
        if (*s == '_') {
            up = 1;
            continue;
        }
        char c = *s;
        if (up && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        up = 0;
        want[n++] = c;
    }
    memcpy(want + n, "Entry", 6);
    return strcmp(e->short_name, want) == 0;
}
