/* test_modelfile.c: model files round-trip, replace atomically, and every
 * corruption (truncation, flipped bytes, crafted tables) is refused by name;
 * CRC-32C against published vectors. Crafted files use the documented layout
 * (modelfile.h) and modelfile_fix_checksums() so that the structural checks,
 * not the checksums, must catch them. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/crc32c.h"
#include "common/wire/modelfile.h"

#define ASSERT_MSG(err, want)                                                                                 \
    do {                                                                                                      \
        if (strstr((err).msg, (want)) == NULL)                                                                \
            fail_msg("message '%s' lacks '%s'", (err).msg, (want));                                           \
    } while (0)

static const uint8_t u8s[] = {0, 1, 2, 250, 255};
static const int32_t i32s[] = {-2147483647 - 1, -1, 0, 7, 2147483647};
static const uint32_t u32s[] = {0, 1, 0xdeadbeefu};
static const int64_t i64s[] = {-5, (int64_t)1 << 40};
static const uint64_t u64s[] = {UINT64_MAX, 0, 42};
static const float f32s[] = {1.5f, -0.25f, 3e38f, 1e-30f, 0.0f, 7.0f, 8.0f};
static const double f64s[] = {3.141592653589793, -1e300};
static const char bytes[] = "hello\0world";

static void add_all(modelfile_writer_t *w)
{
    err_t err;
    assert_int_equal(modelfile_writer_add(w, "u8s", MODELFILE_U8, u8s, 5, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "i32s", MODELFILE_I32, i32s, 5, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "u32s", MODELFILE_U32, u32s, 3, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "i64s", MODELFILE_I64, i64s, 2, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "u64s", MODELFILE_U64, u64s, 3, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "f32s", MODELFILE_F32, f32s, 7, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "f64s", MODELFILE_F64, f64s, 2, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "bytes", MODELFILE_BYTES, bytes, sizeof bytes, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "empty", MODELFILE_F32, NULL, 0, &err), 0);
    assert_int_equal(modelfile_writer_meta(w, "dataset", "ml-latest-small", &err), 0);
    assert_int_equal(modelfile_writer_meta(w, "factors", "64", &err), 0);
    assert_int_equal(modelfile_writer_meta(w, "note", "", &err), 0);
}

/* A small valid model file in a 64-aligned buffer; the caller frees. */
static unsigned char *make_file(size_t *len)
{
    err_t err;
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, NULL, "cf-als", "2024-01-01T00:00:00Z-abc", &err), 0);
    modelfile_writer_set_created(w, 1700000000);
    add_all(w);
    assert_int_equal(modelfile_writer_finish(w, &err), 0);
    const void *data = modelfile_writer_data(w, len);
    assert_non_null(data);
    unsigned char *copy = aligned_alloc(64, (*len + 63) / 64 * 64 + 64);
    memcpy(copy, data, *len);
    modelfile_writer_free(w);
    return copy;
}

static void check_contents(const modelfile_t *mf)
{
    err_t err;
    const void *p;
    uint64_t n;
    assert_string_equal(modelfile_kind(mf), "cf-als");
    assert_string_equal(modelfile_model_version(mf), "2024-01-01T00:00:00Z-abc");
    assert_int_equal(modelfile_created(mf), 1700000000);
    assert_int_equal(modelfile_format_version(mf), MODELFILE_FORMAT_VERSION);
#define CHECK(name, type, arr)                                                                                \
    do {                                                                                                      \
        assert_int_equal(modelfile_section(mf, name, type, &p, &n, &err), 0);                                 \
        assert_int_equal(n, sizeof arr / sizeof arr[0]);                                                      \
        assert_int_equal((uintptr_t)p % 64, 0);                                                               \
        assert_memory_equal(p, arr, sizeof arr);                                                              \
    } while (0)
    CHECK("u8s", MODELFILE_U8, u8s);
    CHECK("i32s", MODELFILE_I32, i32s);
    CHECK("u32s", MODELFILE_U32, u32s);
    CHECK("i64s", MODELFILE_I64, i64s);
    CHECK("u64s", MODELFILE_U64, u64s);
    CHECK("f32s", MODELFILE_F32, f32s);
    CHECK("f64s", MODELFILE_F64, f64s);
    CHECK("bytes", MODELFILE_BYTES, bytes);
#undef CHECK
    assert_int_equal(modelfile_section(mf, "empty", MODELFILE_F32, &p, &n, &err), 0);
    assert_int_equal(n, 0);
    /* Any section can be read as bytes: count is then its byte length. */
    assert_int_equal(modelfile_section(mf, "f64s", MODELFILE_BYTES, &p, &n, &err), 0);
    assert_int_equal(n, 16);
    assert_string_equal(modelfile_meta(mf, "dataset"), "ml-latest-small");
    assert_string_equal(modelfile_meta(mf, "factors"), "64");
    assert_string_equal(modelfile_meta(mf, "note"), "");
    assert_null(modelfile_meta(mf, "nope"));
    assert_int_equal(modelfile_meta_count(mf), 3);
    const char *k, *v;
    assert_int_equal(modelfile_meta_at(mf, 1, &k, &v), 0);
    assert_string_equal(k, "factors");
    assert_string_equal(v, "64");
    assert_int_equal(modelfile_meta_at(mf, 3, &k, &v), -1);
    assert_int_equal(modelfile_nsections(mf), 10); /* 9 + .meta */
    modelfile_section_info_t info;
    assert_int_equal(modelfile_section_at(mf, 5, &info), 0);
    assert_string_equal(info.name, "f32s");
    assert_int_equal(info.type, MODELFILE_F32);
    assert_int_equal(info.length, 28);
    assert_int_equal(modelfile_section_at(mf, 10, &info), -1);
    assert_true(modelfile_has_section(mf, "u8s"));
    assert_false(modelfile_has_section(mf, "u9s"));
}

static void test_crc32c_vectors(void **state)
{
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    unsigned char buf[32];
    memset(buf, 0, 32); /* RFC 3720 B.4 */
    assert_int_equal(crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    assert_int_equal(crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(crc32c(0, buf, 32), 0x46DD794Eu);
    /* Hardware and table versions agree at every alignment and tail length;
     * chaining equals one pass. */
    unsigned char big[1100];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 131 + (i >> 3));
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len < 80; len++)
            assert_int_equal(crc32c(0, big + off, len), crc32c_sw(0, big + off, len));
    assert_int_equal(crc32c(0, big, 1090), crc32c_sw(0, big, 1090));
    assert_int_equal(crc32c(crc32c(0, big, 333), big + 333, 700), crc32c(0, big, 1033));
    assert_int_equal(crc32c_sw(crc32c_sw(0, big, 5), big + 5, 700), crc32c(0, big, 705));
}

static void test_roundtrip_mem(void **state)
{
    size_t len;
    unsigned char *buf = make_file(&len);
    assert_int_equal(len % 8, 0);
    modelfile_t *mf;
    err_t err;
    if (modelfile_open_mem(buf, len, "mem", &mf, &err) != 0)
        fail_msg("%s", err.msg);
    check_contents(mf);
    modelfile_close(mf);
    /* A misaligned buffer is copied so section pointers stay aligned. */
    unsigned char *odd = malloc(len + 1);
    memcpy(odd + 1, buf, len);
    assert_int_equal(modelfile_open_mem(odd + 1, len, "odd", &mf, &err), 0);
    check_contents(mf);
    modelfile_close(mf);
    free(odd);
    free(buf);
}

static void test_streaming_sections(void **state)
{
    err_t err;
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, NULL, "content-tfidf", "v1", &err), 0);
    assert_int_equal(modelfile_writer_begin(w, "m", MODELFILE_F32, &err), 0);
    float row[3];
    for (int r = 0; r < 100; r++) {
        for (int c = 0; c < 3; c++)
            row[c] = (float)(r * 3 + c);
        assert_int_equal(modelfile_writer_append(w, row, 3, &err), 0);
    }
    /* No second section while one is open; no finish either. */
    assert_int_equal(modelfile_writer_begin(w, "x", MODELFILE_U8, &err), -1);
    assert_int_equal(modelfile_writer_finish(w, &err), -1);
    assert_int_equal(modelfile_writer_end(w, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "one", MODELFILE_U8, "z", 1, &err), 0);
    assert_int_equal(modelfile_writer_finish(w, &err), 0);
    size_t len;
    const void *data = modelfile_writer_data(w, &len);
    modelfile_t *mf;
    assert_int_equal(modelfile_open_mem(data, len, "s", &mf, &err), 0);
    const float *m;
    uint64_t n;
    assert_int_equal(modelfile_section(mf, "m", MODELFILE_F32, (const void **)&m, &n, &err), 0);
    assert_int_equal(n, 300);
    for (int i = 0; i < 300; i++)
        assert_true(m[i] == (float)i);
    assert_int_equal(modelfile_meta_count(mf), 0);
    assert_false(modelfile_has_section(mf, MODELFILE_META_SECTION));
    modelfile_close(mf);
    modelfile_writer_free(w);
}

static void test_writer_errors(void **state)
{
    err_t err;
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, NULL, "a-kind-name-that-is-longer-than-31-bytes", "v", &err), -1);
    ASSERT_MSG(err, "longer than 31");
    assert_int_equal(modelfile_writer_new(&w, NULL, "k", "v", &err), 0);
    assert_int_equal(modelfile_writer_add(w, "a", MODELFILE_U8, "x", 1, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "a", MODELFILE_U8, "x", 1, &err), -1);
    ASSERT_MSG(err, "section 'a' added twice");
    assert_int_equal(modelfile_writer_add(w, ".meta", MODELFILE_BYTES, "x", 1, &err), -1);
    ASSERT_MSG(err, "reserved");
    assert_int_equal(modelfile_writer_add(w, "", MODELFILE_U8, "x", 1, &err), -1);
    assert_int_equal(modelfile_writer_add(w, "this-section-name-is-32-bytes-ok", MODELFILE_U8, "x", 1, &err), -1);
    assert_int_equal(modelfile_writer_add(w, "this-section-name-is-31-bytes-o", MODELFILE_U8, "x", 1, &err), 0);
    assert_int_equal(modelfile_writer_add(w, "t", (modelfile_type_t)99, "x", 1, &err), -1);
    assert_int_equal(modelfile_writer_meta(w, "", "v", &err), -1);
    assert_int_equal(modelfile_writer_finish(w, &err), 0);
    assert_int_equal(modelfile_writer_finish(w, &err), -1);
    modelfile_writer_free(w);
    assert_int_equal(modelfile_writer_new(&w, "/nonexistent-dir/x/model.bin", "k", "v", &err), -1);
    ASSERT_MSG(err, "/nonexistent-dir/x/model.bin.tmp");
}

static void write_version(const char *path, const char *version, float value)
{
    err_t err;
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, path, "cf-als", version, &err), 0);
    float v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = value;
    assert_int_equal(modelfile_writer_add(w, "item_factors", MODELFILE_F32, v, 1000, &err), 0);
    if (modelfile_writer_finish(w, &err) != 0)
        fail_msg("%s", err.msg);
    modelfile_writer_free(w);
}

static void test_file_atomic_replace(void **state)
{
    char *dir = testutil_tmpdir("modelfile_replace");
    char *path = testutil_join(dir, "model.bin");
    char *tmp = testutil_join(dir, "model.bin.tmp");
    err_t err;
    write_version(path, "v1", 1.0f);
    assert_int_not_equal(access(tmp, F_OK), 0);
    modelfile_t *old;
    if (modelfile_open(path, &old, &err) != 0)
        fail_msg("%s", err.msg);
    /* Replace while the old one is mapped: the old mapping keeps its data. */
    write_version(path, "v2", 2.0f);
    const float *f;
    uint64_t n;
    assert_int_equal(modelfile_section(old, "item_factors", MODELFILE_F32, (const void **)&f, &n, &err), 0);
    assert_string_equal(modelfile_model_version(old), "v1");
    assert_true(f[999] == 1.0f);
    modelfile_t *cur;
    assert_int_equal(modelfile_open(path, &cur, &err), 0);
    assert_string_equal(modelfile_model_version(cur), "v2");
    assert_int_equal(modelfile_section(cur, "item_factors", MODELFILE_F32, (const void **)&f, &n, &err), 0);
    assert_true(f[0] == 2.0f);
    modelfile_close(old);
    modelfile_close(cur);
    /* An abandoned writer leaves the current file and no temporary. */
    modelfile_writer_t *w;
    assert_int_equal(modelfile_writer_new(&w, path, "cf-als", "v3", &err), 0);
    assert_int_equal(access(tmp, F_OK), 0);
    assert_int_equal(modelfile_writer_add(w, "x", MODELFILE_U8, "a", 1, &err), 0);
    modelfile_writer_free(w);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_equal(modelfile_open(path, &cur, &err), 0);
    assert_string_equal(modelfile_model_version(cur), "v2");
    modelfile_close(cur);
    /* Truncated on disk: the message names the file and both sizes. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, 1024), 0);
    assert_int_equal(modelfile_open(path, &cur, &err), -1);
    assert_null(cur);
    char want[600];
    snprintf(want, sizeof want, "%s: truncated: header says %lld bytes, file has 1024", path,
             (long long)st.st_size);
    assert_string_equal(err.msg, want);
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(modelfile_open(path, &cur, &err), -1);
    ASSERT_MSG(err, "truncated");
    char *missing = testutil_join(dir, "missing.bin");
    assert_int_equal(modelfile_open(missing, &cur, &err), -1);
    ASSERT_MSG(err, "missing.bin");
    assert_int_equal(modelfile_open(dir, &cur, &err), -1);
    ASSERT_MSG(err, "not a regular file");
    free(missing);
    free(tmp);
    free(path);
    free(dir);
}

static void expect_refused(const unsigned char *buf, size_t len, const char *want)
{
    modelfile_t *mf = (modelfile_t *)1;
    err_t err;
    /* Copy into an exact-size heap buffer so ASan sees any over-read. */
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    if (modelfile_open_mem(copy, len, "model.bin", &mf, &err) == 0)
        fail_msg("accepted a corrupt file (want '%s')", want ? want : "any error");
    assert_null(mf);
    assert_true(strncmp(err.msg, "model.bin: ", 11) == 0);
    if (want)
        ASSERT_MSG(err, want);
    free(copy);
}

static void test_truncation_everywhere(void **state)
{
    size_t len;
    unsigned char *buf = make_file(&len);
    for (size_t cut = 0; cut < len; cut++)
        expect_refused(buf, cut, "truncated");
    free(buf);
}

static void test_flipped_bytes_everywhere(void **state)
{
    size_t len;
    unsigned char *buf = make_file(&len);
    unsigned char *c = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(c, buf, len);
        c[i] ^= (unsigned char)(1u << (i % 8));
        expect_refused(c, len, NULL);
    }
    uint64_t toff, doff;
    memcpy(&toff, buf + 32, 8);
    memcpy(&doff, buf + toff + 5 * 64 + 48, 8); /* f32s */
    memcpy(c, buf, len);
    c[doff + 3] ^= 0x10;
    expect_refused(c, len, "model.bin: section 'f32s' checksum mismatch");
    memcpy(c, buf, len);
    c[toff + 70] ^= 1;
    expect_refused(c, len, "section table checksum mismatch");
    memcpy(c, buf, len);
    c[64] ^= 1; /* kind */
    expect_refused(c, len, "header checksum mismatch");
    memcpy(c, buf, len);
    c[doff + 28] = 1; /* padding after f32s */
    modelfile_fix_checksums(c, len);
    expect_refused(c, len, "non-zero padding byte");
    free(c);
    free(buf);
}

/* Crafted files: edit a field, fix checksums, expect the structural check. */
typedef struct craft {
    unsigned char *c;
    size_t len;
    uint64_t toff;
} craft_t;

static craft_t craft_begin(const unsigned char *buf, size_t len, size_t extra)
{
    craft_t k;
    k.c = aligned_alloc(64, (len + extra + 63) / 64 * 64);
    memset(k.c, 0, (len + extra + 63) / 64 * 64);
    memcpy(k.c, buf, len);
    k.len = len;
    memcpy(&k.toff, buf + 32, 8);
    return k;
}

static unsigned char *entry(craft_t *k, int i)
{
    return k->c + k->toff + (size_t)i * 64;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void craft_expect(craft_t *k, const char *want)
{
    modelfile_fix_checksums(k->c, k->len);
    expect_refused(k->c, k->len, want);
    free(k->c);
}

static void test_crafted_corruptions(void **state)
{
    size_t len;
    unsigned char *buf = make_file(&len);
    craft_t k;
    /* Sanity: fixing checksums of an untouched file keeps it valid. */
    k = craft_begin(buf, len, 0);
    modelfile_fix_checksums(k.c, k.len);
    assert_memory_equal(k.c, buf, len);
    free(k.c);

    k = craft_begin(buf, len, 0);
    memcpy(k.c, "NOTAMODL", 8);
    craft_expect(&k, "not a recsys model file (bad magic)");

    k = craft_begin(buf, len, 0);
    put_u32(k.c + 8, 7);
    craft_expect(&k, "model.bin: format version 7 is newer than this program supports (1)");

    k = craft_begin(buf, len, 0);
    put_u32(k.c + 12, 4);
    craft_expect(&k, "unsupported flags 0x4");

    k = craft_begin(buf, len, 64);
    k.len += 64;
    craft_expect(&k, "trailing data");

    k = craft_begin(buf, len, 0); /* i32s at u8s's offset (same length, 20 vs 5: use u32s/u8s) */
    put_u64(entry(&k, 1) + 48, get_u64(entry(&k, 0) + 48));
    craft_expect(&k, "overlaps section");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 2) + 48, get_u64(entry(&k, 2) + 48) + 4);
    craft_expect(&k, "section 'u32s': misaligned offset");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 2) + 40, 4); /* count 4 x 4 bytes != 12 */
    craft_expect(&k, "section 'u32s': length 12 is not count 4 x 4-byte u32");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 2) + 40, UINT64_MAX / 2); /* count x 4 overflows */
    craft_expect(&k, "is not count");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 0) + 40, 64); /* u8s: 64 x 1 byte at an aligned offset that wraps */
    put_u64(entry(&k, 0) + 56, 64);
    put_u64(entry(&k, 0) + 48, UINT64_MAX - 63);
    craft_expect(&k, "section 'u8s': offset 18446744073709551552 + length 64 overflows");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 2) + 48, (len + 63) / 64 * 64 + 640);
    craft_expect(&k, "lie outside the");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 2) + 48, 128);
    craft_expect(&k, "overlaps the header");

    k = craft_begin(buf, len, 0);
    put_u64(entry(&k, 2) + 48, k.toff);
    craft_expect(&k, "overlaps the section table");

    k = craft_begin(buf, len, 0);
    memset(entry(&k, 3), 'a', 32);
    craft_expect(&k, "section 3: name is not NUL-terminated");

    k = craft_begin(buf, len, 0);
    memset(entry(&k, 3), 0, 32);
    craft_expect(&k, "section 3: empty name");

    k = craft_begin(buf, len, 0);
    memcpy(entry(&k, 3), "u8s", 4);
    craft_expect(&k, "section 'u8s' appears twice");

    k = craft_begin(buf, len, 0);
    put_u32(entry(&k, 3) + 32, 0);
    craft_expect(&k, "unknown element type 0");

    k = craft_begin(buf, len, 0);
    put_u32(k.c + 20, 9); /* section count no longer matches table size */
    craft_expect(&k, "section table of 640 bytes for 9 sections");

    k = craft_begin(buf, len, 0);
    put_u64(k.c + 32, k.toff + 64);
    craft_expect(&k, "section table (offset");

    k = craft_begin(buf, len, 0);
    put_u64(k.c + 32, UINT64_MAX - 7);
    craft_expect(&k, "section table (offset");

    k = craft_begin(buf, len, 0);
    put_u32(k.c + 20, 100000);
    put_u64(k.c + 40, 100000ull * 64);
    craft_expect(&k, "more than the limit");

    k = craft_begin(buf, len, 0);
    memset(k.c + 64, 'k', 32);
    craft_expect(&k, "model kind is not NUL-terminated");

    k = craft_begin(buf, len, 0); /* metadata with an odd number of strings */
    unsigned char *meta = entry(&k, 9);
    assert_string_equal((char *)meta, ".meta");
    k.c[get_u64(meta + 48) + get_u64(meta + 56) - 2] = 'x';
    craft_expect(&k, "malformed metadata section");
    free(buf);
}

static void test_lookup_errors(void **state)
{
    size_t len;
    unsigned char *buf = make_file(&len);
    modelfile_t *mf;
    err_t err;
    assert_int_equal(modelfile_open_mem(buf, len, "model.bin", &mf, &err), 0);
    const void *p = NULL;
    uint64_t n = 0;
    assert_int_equal(modelfile_section(mf, "item_factors", MODELFILE_F32, &p, &n, &err), -1);
    assert_string_equal(err.msg, "model.bin: no section 'item_factors'");
    assert_int_equal(modelfile_section(mf, "f32s", MODELFILE_F64, &p, &n, &err), -1);
    assert_string_equal(err.msg, "model.bin: section 'f32s' is f32, expected f64");
    assert_int_equal(modelfile_section(mf, "i32s", MODELFILE_U32, &p, &n, &err), -1);
    assert_string_equal(err.msg, "model.bin: section 'i32s' is i32, expected u32");
    modelfile_close(mf);
    free(buf);
    assert_string_equal(modelfile_type_name(MODELFILE_BYTES), "bytes");
    assert_int_equal(modelfile_type_size(MODELFILE_F64), 8);
    assert_int_equal(modelfile_type_size((modelfile_type_t)0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_roundtrip_mem),
        cmocka_unit_test(test_streaming_sections),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_file_atomic_replace),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_flipped_bytes_everywhere),
        cmocka_unit_test(test_crafted_corruptions),
        cmocka_unit_test(test_lookup_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
