/* test_text.c: utf8, text and stopwords against Python's own answers.
 *
 * Expected values in the tables below were produced by Python 3.11
 * (str.split(), str.lower(), re.findall(r"(?u)\b\w\w+\b", s.lower()) checked
 * equal to CountVectorizer().build_analyzer(), bytes.decode("utf-8",
 * "replace")) and scikit-learn 1.2.1's ENGLISH_STOP_WORDS.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text/stopwords.h"
#include "common/text/text.h"
#include "common/text/utf8.h"

/* str.split(): input, tokens joined by '|' */
static const struct { const char *in, *want; } split_cases[] = {
    {"", ""},
    {"   ", ""},
    {"a", "a"},
    {" a ", "a"},
    {"a b", "a|b"},
    {"a\x09""b\x0a""c\x0d""d\x0b""e\x0c""f", "a|b|c|d|e|f"},
    {"a\x1c""b\x1d""c\x1e""d\x1f""f", "a|b|c|d|f"},
    {"a\xc2\x85""b\xc2\xa0""c", "a|b|c"},
    {"a\xe1\x9a\x80""b\xe2\x80\x80""c\xe2\x80\x85""d\xe2\x80\x8a""e", "a|b|c|d|e"},
    {"a\xe2\x80\xa8""b\xe2\x80\xa9""c\xe2\x80\xaf""d\xe2\x81\x9f""e\xe3\x80\x80""f", "a|b|c|d|e|f"},
    {"a\xe2\x80\x8b""b\xef\xbb\xbf""c\xe1\xa0\x8e""d", "a\xe2\x80\x8b""b\xef\xbb\xbf""c\xe1\xa0\x8e""d"},
    {"  lead and trail\xe3\x80\x80\xe3\x80\x80", "lead|and|trail"},
    {"civilization. The Dark Knight\xe2\x80\x99s  return", "civilization.|The|Dark|Knight\xe2\x80\x99s|return"},
};
/* str.lower() */
static const struct { const char *in, *want; } lower_cases[] = {
    {"", ""},
    {"ABC xyz 123", "abc xyz 123"},
    {"Stra\xc3\x9f""e STRASSE", "stra\xc3\x9f""e strasse"},
    {"\xc3\x80\xc3\x89\xc3\x8e", "\xc3\xa0\xc3\xa9\xc3\xae"},
    {"\xc4\xb0stanbul", "i\xcc\x87stanbul"},
    {"\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82"},
    {"\xce\xa3", "\xcf\x83"},
    {"\xce\x91\xce\xa3", "\xce\xb1\xcf\x82"},
    {"\xce\x91\xce\xa3.", "\xce\xb1\xcf\x82."},
    {"\xce\x91\xce\xa3\xce\x91", "\xce\xb1\xcf\x83\xce\xb1"},
    {"\xce\x91'\xce\xa3", "\xce\xb1'\xcf\x82"},
    {"\xce\x91'\xce\xa3'", "\xce\xb1'\xcf\x82'"},
    {"\xce\x91\xce\xa3'\xce\x91", "\xce\xb1\xcf\x83'\xce\xb1"},
    {"\xce\x91\xce\xa3'.", "\xce\xb1\xcf\x82'."},
    {"\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3 \xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3", "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82 \xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82"},
    {"1\xce\xa3", "1\xcf\x83"},
    {"\xce\x91\xce\xa3""1", "\xce\xb1\xcf\x82""1"},
    {"\xc8\xba", "\xe2\xb1\xa5"},
    {"\xe2\xb1\xaf", "\xc9\x90"},
    {"\xc7\x85 \xc7\x88", "\xc7\x86 \xc7\x89"},
    {"\xe1\xba\x9e", "\xc3\x9f"},
    {"\xce\xa9\xce\xa3\xcc\x81", "\xcf\x89\xcf\x82\xcc\x81"},
    {"\xce\xa9\xce\xa3\xcc\x81\xce\x91", "\xcf\x89\xcf\x83\xcc\x81\xce\xb1"},
    {"\xc4\xb2", "\xc4\xb3"},
    {"\xc3\x85NGSTR\xc3\x96M \xc3\x85 K", "\xc3\xa5ngstr\xc3\xb6m \xc3\xa5 k"},
    {"D\xc5\xbd", "d\xc5\xbe"},
};
/* re.findall(r'(?u)\b\w\w+\b', s.lower()): input, tokens joined by '|' */
static const struct { const char *in, *want; } token_cases[] = {
    {"", ""},
    {"a", ""},
    {"ab", "ab"},
    {"don't", "don"},
    {"a1 b_c x", "a1|b_c"},
    {"co-op", "co|op"},
    {"__ _a_ 9", "__|_a_"},
    {"Hello, World!", "hello|world"},
    {"na\xc3\xafve caf\xc3\xa9 \xc3\x89""COLE", "na\xc3\xafve|caf\xc3\xa9|\xc3\xa9""cole"},
    {"x\xc2\xb2y \xc2\xbd\xc2\xbd \xd9\xa3\xd9\xa4 \xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89", "x\xc2\xb2y|\xc2\xbd\xc2\xbd|\xd9\xa3\xd9\xa4|\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89"},
    {"e\xcc\x81te", "te"},
    {"\xc4\xb0I", ""},
    {"tab\x09sep", "tab|sep"},
    {"end.", "end"},
    {"ab\xc2\xa0""cd", "ab|cd"},
    {"\xc3\xbc""ber-cool_stuff42", "\xc3\xbc""ber|cool_stuff42"},
    {"l'\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
    {"\xce\xa3\xce\x91\xce\xa3 \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82|\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x82"},
    {"\xd9\xa1\xd9\xa2 x\xcc\x80y", "\xd9\xa1\xd9\xa2"},
    {"a\xe2\x80\x8d""b", ""},
};
/* bytes.decode('utf-8', 'replace'): input, length, code points, lower() */
static const struct { const char *in; size_t len; size_t ncp; const char *lower; } bad_cases[] = {
    {"\xff", 1, 1, "\xef\xbf\xbd"},
    {"\x80""abc", 4, 4, "\xef\xbf\xbd""abc"},
    {"ab\xc3", 3, 3, "ab\xef\xbf\xbd"},
    {"\xc3(", 2, 2, "\xef\xbf\xbd("},
    {"\xe2\x82", 2, 1, "\xef\xbf\xbd"},
    {"\xe2\x82(", 3, 2, "\xef\xbf\xbd("},
    {"\xed\xa0\x80", 3, 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xf0\x9f\x98", 3, 1, "\xef\xbf\xbd"},
    {"\xf0\x9f\x98\x80", 4, 1, "\xf0\x9f\x98\x80"},
    {"\xf4\x90\x80\x80", 4, 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xc0\xaf", 2, 2, "\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xe0\x80\xaf", 3, 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xf8\x88\x80\x80\x80", 5, 5, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"A\xce\xa3\xff", 4, 3, "a\xcf\x82\xef\xbf\xbd"},
    {"\xef\xbf\xbd", 3, 1, "\xef\xbf\xbd"},
    {"\xf0\x90\x80""A", 4, 2, "\xef\xbf\xbd""a"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Tokens joined by '|', for comparison with the tables. */
typedef struct joined {
    char buf[1024];
    size_t len;
} joined_t;

static int join_cb(const char *tok, size_t len, void *ud)
{
    joined_t *j = ud;
    if (j->len > 0)
        j->buf[j->len++] = '|';
    assert_true(j->len + len < sizeof j->buf);
    memcpy(j->buf + j->len, tok, len);
    j->len += len;
    j->buf[j->len] = '\0';
    return 0;
}

static void test_split(void **state)
{
    for (size_t i = 0; i < N(split_cases); i++) {
        joined_t j = {{0}, 0};
        const char *in = split_cases[i].in;
        text_split_ws(in, strlen(in), join_cb, &j);
        if (strcmp(j.buf, split_cases[i].want) != 0)
            fail_msg("split case %zu: got '%s', want '%s'", i, j.buf, split_cases[i].want);
    }
    /* NUL is not whitespace; ill-formed bytes stay inside their token. */
    text_iter_t it;
    const char *tok;
    size_t len;
    text_iter_init(&it, " x\0y \xff\xfe z", 9);
    assert_true(text_next_ws(&it, &tok, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(tok, "x\0y", 3);
    assert_true(text_next_ws(&it, &tok, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(tok, "\xff\xfe", 2);
    assert_true(text_next_ws(&it, &tok, &len));
    assert_memory_equal(tok, "z", 1);
    assert_false(text_next_ws(&it, &tok, &len));
    assert_false(text_next_ws(&it, &tok, &len));
    /* The callback can stop the walk. */
    assert_int_equal(text_split_ws("a b c", 5, NULL, NULL), 3);
}

static void test_lower(void **state)
{
    char out[256];
    for (size_t i = 0; i < N(lower_cases); i++) {
        const char *in = lower_cases[i].in;
        size_t n = text_lower(in, strlen(in), out, sizeof out);
        if (n != strlen(lower_cases[i].want) || strcmp(out, lower_cases[i].want) != 0)
            fail_msg("lower case %zu ('%s'): got '%s', want '%s'", i, in, out,
                     lower_cases[i].want);
    }
    /* Short buffers: full length returned, output cut between characters. */
    assert_int_equal(text_lower("\xc3\x80\xc3\x89", 4, out, 4), 4);
    assert_string_equal(out, "\xc3\xa0");
    assert_int_equal(text_lower("\xc4\xb0x", 3, out, 3), 4); /* "i" U+0307 "x" */
    assert_string_equal(out, "i");
    assert_int_equal(text_lower("ABC", 3, NULL, 0), 3);
    assert_int_equal(text_lower("ABCDE\xc3\x80", 7, out, 4), 7); /* ASCII runs cut anywhere */
    assert_string_equal(out, "abc");
    /* NUL and long ASCII runs (the fast path copies in chunks). */
    assert_int_equal(text_lower("X\0Y", 3, out, sizeof out), 3);
    assert_memory_equal(out, "x\0y", 4);
    char big[300], want[300];
    for (int i = 0; i < 300; i++) {
        big[i] = (char)('A' + i % 26);
        want[i] = (char)('a' + i % 26);
    }
    char *o = malloc(TEXT_LOWER_MAX(300) + 1);
    assert_int_equal(text_lower(big, 300, o, TEXT_LOWER_MAX(300) + 1), 300);
    assert_memory_equal(o, want, 300);
    free(o);
}

static void test_tokens(void **state)
{
    char scratch[512];
    for (size_t i = 0; i < N(token_cases); i++) {
        joined_t j = {{0}, 0};
        const char *in = token_cases[i].in;
        long n = text_cv_tokenize(in, strlen(in), scratch, sizeof scratch, join_cb, &j);
        assert_true(n >= 0);
        if (strcmp(j.buf, token_cases[i].want) != 0)
            fail_msg("token case %zu ('%s'): got '%s', want '%s'", i, in, j.buf,
                     token_cases[i].want);
    }
    /* Scratch too small: -1 and no callback. */
    joined_t j = {{0}, 0};
    assert_int_equal(text_cv_tokenize("Hello world", 11, scratch, 11, join_cb, &j), -1);
    assert_int_equal(j.len, 0);
    assert_int_equal(text_cv_tokenize("Hello world", 11, scratch, 12, join_cb, &j), 2);
    /* Iterator spans point into the text; ill-formed bytes end a word. */
    text_iter_t it;
    const char *tok;
    size_t len;
    const char *s = "ab\xff" "cd e fg";
    text_iter_init(&it, s, strlen(s));
    assert_true(text_next_word(&it, &tok, &len));
    assert_ptr_equal(tok, s);
    assert_int_equal(len, 2);
    assert_true(text_next_word(&it, &tok, &len));
    assert_ptr_equal(tok, s + 3);
    assert_true(text_next_word(&it, &tok, &len));
    assert_ptr_equal(tok, s + 8);
    assert_int_equal(len, 2);
    assert_false(text_next_word(&it, &tok, &len));
}

/* The generated tables agree with the ASCII fast paths and with Python's
 * totals (code points per property, from the generator's Python). */
static size_t table_total(const utf8_range_t *r, size_t n)
{
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i].lo <= r[i].hi);
        if (i > 0)
            assert_true(r[i].lo > r[i - 1].hi + 1);
        t += r[i].hi - r[i].lo + 1;
    }
    return t;
}

static int in_table(const utf8_range_t *r, size_t n, uint32_t cp)
{
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return 1;
    return 0;
}

static void test_tables(void **state)
{
    assert_string_equal(utf8_tab_unicode_version, "14.0.0");
    assert_int_equal(table_total(utf8_tab_space, utf8_tab_space_n), 29);
    assert_int_equal(table_total(utf8_tab_word, utf8_tab_word_n), 133548);
    table_total(utf8_tab_case_ignorable, utf8_tab_case_ignorable_n);
    table_total(utf8_tab_cased, utf8_tab_cased_n);
    for (uint32_t c = 0; c < 0x800; c++) {
        assert_int_equal(utf8_is_space(c), in_table(utf8_tab_space, utf8_tab_space_n, c));
        assert_int_equal(utf8_is_word(c), in_table(utf8_tab_word, utf8_tab_word_n, c));
    }
    /* text.c assumes these are the ASCII case-ignorables and cased letters. */
    for (uint32_t c = 0; c < 0x80; c++) {
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int ign = c == '\'' || c == '.' || c == ':' || c == '^' || c == '`';
        assert_int_equal(utf8_is_case_ignorable(c), ign);
        assert_int_equal(utf8_is_cased(c), letter);
    }
    /* Python: 1432 code points lower to one other code point, U+0130 to two. */
    size_t single = 0, multi = 0;
    for (uint32_t c = 0; c < 0x110000; c++) {
        uint32_t out[3];
        size_t n = utf8_lower_cp(c, out);
        if (n > 1)
            multi++;
        else if (out[0] != c)
            single++;
    }
    assert_int_equal(single, 1432);
    assert_int_equal(multi, 1);
    uint32_t out[3];
    assert_int_equal(utf8_lower_cp(0x130, out), 2);
    assert_int_equal(out[0], 0x69);
    assert_int_equal(out[1], 0x307);
    assert_int_equal(utf8_lower_cp(0x3A3, out), 1);
    assert_int_equal(out[0], 0x3C3);
    assert_int_equal(utf8_lower_cp(0x1E9E, out), 1);
    assert_int_equal(out[0], 0xDF);
    assert_true(utf8_is_word(0x4E00));  /* CJK */
    assert_true(utf8_is_word(0xBD));    /* ½ is numeric */
    assert_false(utf8_is_word(0x301));  /* combining acute is a mark */
    assert_false(utf8_is_word(0xFFFD));
    assert_false(utf8_is_space(0x200B)); /* zero width space */
    assert_false(utf8_is_space(0x180E)); /* no longer a space since Unicode 6.3 */
}

static void test_utf8_coding(void **state)
{
    for (size_t i = 0; i < N(bad_cases); i++) {
        const char *in = bad_cases[i].in;
        size_t len = bad_cases[i].len;
        assert_int_equal(utf8_count(in, len), bad_cases[i].ncp);
        char out[64];
        size_t n = text_lower(in, len, out, sizeof out);
        if (n != strlen(bad_cases[i].lower) || memcmp(out, bad_cases[i].lower, n) != 0)
            fail_msg("bad case %zu: lower gives '%s', want '%s'", i, out, bad_cases[i].lower);
        assert_true(utf8_valid(out, n));
        int ok = !strcmp(in, "\xf0\x9f\x98\x80") || !strcmp(in, "\xef\xbf\xbd");
        assert_int_equal(utf8_valid(in, len), ok);
    }
    assert_int_equal(utf8_check("ab\xe2\x82z", 5), 2);
    assert_int_equal(utf8_check("abc", 3), 3);
    assert_int_equal(utf8_check("\xf0\x90\x80", 3), 0);
    /* Round trip of every scalar value; surrogates and out-of-range encode
     * as U+FFFD. */
    for (uint32_t c = 0; c < 0x110000; c++) {
        if (c >= 0xD800 && c < 0xE000)
            continue;
        char buf[4];
        uint32_t back;
        size_t n = utf8_encode(c, buf);
        assert_int_equal(utf8_decode(buf, n, &back), n);
        assert_int_equal(back, c);
    }
    char buf[4];
    assert_int_equal(utf8_encode(0xD800, buf), 3);
    assert_memory_equal(buf, "\xef\xbf\xbd", 3);
    assert_int_equal(utf8_encode(0x110000, buf), 3);
    assert_memory_equal(buf, "\xef\xbf\xbd", 3);
}

static void test_latin1(void **state)
{
    char out[32];
    assert_int_equal(utf8_from_latin1("Mis\xe9rables", 10, out, sizeof out), 11);
    assert_string_equal(out, "Mis\xc3\xa9rables");
    assert_int_equal(utf8_from_latin1("\xff\x80 a", 4, out, sizeof out), 6);
    assert_string_equal(out, "\xc3\xbf\xc2\x80 a");
    assert_true(utf8_valid(out, 6));
    /* Short buffer: never half a character. */
    assert_int_equal(utf8_from_latin1("a\xe9", 2, out, 3), 3);
    assert_string_equal(out, "a");
    assert_int_equal(utf8_from_latin1("a\xe9", 2, NULL, 0), 3);
    /* All 256 bytes. */
    char in[256], big[513];
    for (int i = 0; i < 256; i++)
        in[i] = (char)i;
    assert_int_equal(utf8_from_latin1(in, 256, big, sizeof big), 128 + 2 * 128);
    assert_true(utf8_valid(big, 384));
    assert_int_equal(utf8_count(big, 384), 256);
}

static void test_stopwords(void **state)
{
    assert_int_equal(stopwords_english_count(), 318);
    for (size_t i = 0; i < stopwords_english_count(); i++) {
        const char *w = stopwords_english_at(i);
        assert_true(stopwords_is_english(w, strlen(w)));
        if (i > 0)
            assert_true(strcmp(stopwords_english_at(i - 1), w) < 0);
    }
    assert_null(stopwords_english_at(318));
    assert_string_equal(stopwords_english_at(0), "a");
    assert_string_equal(stopwords_english_at(317), "yourselves");
    const char *yes[] = {"the", "and", "because", "bill", "cry", "amoungst", "de", "co",
                         "con", "system", "thick", "eg", "etc", "ie", "inc", "ltd",
                         "un", "re", "via", "mill", "sincere"};
    const char *no[] = {"becaus", "The", "s", "t", "don", "", "fify", "the ", "thes",
                        "yourselvesx", "zzz", "\xc3\xa9"};
    for (size_t i = 0; i < N(yes); i++)
        if (!stopwords_is_english(yes[i], strlen(yes[i])))
            fail_msg("'%s' should be a stop word", yes[i]);
    for (size_t i = 0; i < N(no); i++)
        if (stopwords_is_english(no[i], strlen(no[i])))
            fail_msg("'%s' should not be a stop word", no[i]);
    /* Length is honoured, not NUL: "them" is a stop word, its prefix "th" is not. */
    assert_true(stopwords_is_english("themselves", 4));
    assert_false(stopwords_is_english("them", 2));
}

/* utf8_seq_len agrees with utf8_decode: a sequence is well-formed exactly
 * when decoding it takes all its bytes and does not give U+FFFD (except the
 * real EF BF BD), over every lead byte with every second byte and a few tails. */
static void test_utf8_seq_len(void **state)
{
    static const unsigned char tails[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t t = 0; t < sizeof tails; t++) {
                char s[4] = {(char)a, (char)b, (char)tails[t], (char)tails[t]};
                for (size_t n = 1; n <= 4; n++) {
                    uint32_t cp;
                    size_t used = utf8_decode(s, n, &cp);
                    size_t want = (cp != 0xFFFD || (n >= 3 && memcmp(s, "\xef\xbf\xbd", 3) == 0)) ? used : 0;
                    size_t got = utf8_seq_len(s, n);
                    if (got != want)
                        fail_msg("%02x %02x %02x n=%zu: seq_len %zu, decode says %zu", a, b, tails[t], n, got,
                                 want);
                }
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_seq_len),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_lower),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_utf8_coding),
        cmocka_unit_test(test_latin1),
        cmocka_unit_test(test_stopwords),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
