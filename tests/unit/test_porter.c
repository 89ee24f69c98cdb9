/* test_porter.c: porter_stem against NLTK 3.8's PorterStemmer().stem().
 *
 * The hand-picked cases are Porter's vocabulary examples plus NLTK's own
 * variants (irregular forms, 'ies'/'ied' of four letters, 'logi', 'alli'),
 * punctuation, non-ASCII letters, Python's lower-casing and ill-formed bytes
 * (read as Python's decode("utf-8", "replace") reads them); every expected
 * value was produced by nltk 3.8 on Python 3.11. The fixture test runs all
 * 41,103 token -> stem pairs of shared/fixtures/tmdb5000_porter_pairs.tsv.
 */
#include "testutil.h"
#include "common/base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/text/porter.h"

static void check(const char *word, const char *want)
{
    char out[PORTER_OUT_MAX(64)];
    size_t n = porter_stem(word, strlen(word), out, sizeof out);
    if (n != strlen(want) || strcmp(out, want) != 0)
        fail_msg("stem('%s') = '%s' (%zu bytes), want '%s'", word, out, n, want);
}

static const struct {
    const char *word, *stem;
} cases[] = {
    {"caresses", "caress"},
    {"ponies", "poni"},
    {"ties", "tie"},
    {"caress", "caress"},
    {"cats", "cat"},
    {"feed", "feed"},
    {"agreed", "agre"},
    {"plastered", "plaster"},
    {"bled", "bled"},
    {"motoring", "motor"},
    {"sing", "sing"},
    {"conflated", "conflat"},
    {"troubled", "troubl"},
    {"sized", "size"},
    {"hopping", "hop"},
    {"tanned", "tan"},
    {"falling", "fall"},
    {"hissing", "hiss"},
    {"fizzed", "fizz"},
    {"failing", "fail"},
    {"filing", "file"},
    {"happy", "happi"},
    {"sky", "sky"},
    {"relational", "relat"},
    {"conditional", "condit"},
    {"rational", "ration"},
    {"valenci", "valenc"},
    {"hesitanci", "hesit"},
    {"digitizer", "digit"},
    {"conformabli", "conform"},
    {"radicalli", "radic"},
    {"differentli", "differ"},
    {"vileli", "vile"},
    {"analogousli", "analog"},
    {"vietnamization", "vietnam"},
    {"predication", "predic"},
    {"operator", "oper"},
    {"feudalism", "feudal"},
    {"decisiveness", "decis"},
    {"hopefulness", "hope"},
    {"callousness", "callous"},
    {"formaliti", "formal"},
    {"sensitiviti", "sensit"},
    {"sensibiliti", "sensibl"},
    {"triplicate", "triplic"},
    {"formative", "form"},
    {"formalize", "formal"},
    {"electriciti", "electr"},
    {"electrical", "electr"},
    {"hopeful", "hope"},
    {"goodness", "good"},
    {"revival", "reviv"},
    {"allowance", "allow"},
    {"inference", "infer"},
    {"airliner", "airlin"},
    {"gyroscopic", "gyroscop"},
    {"adjustable", "adjust"},
    {"defensible", "defens"},
    {"irritant", "irrit"},
    {"replacement", "replac"},
    {"adjustment", "adjust"},
    {"dependent", "depend"},
    {"adoption", "adopt"},
    {"homologou", "homolog"},
    {"communism", "commun"},
    {"activate", "activ"},
    {"angulariti", "angular"},
    {"homologous", "homolog"},
    {"effective", "effect"},
    {"bowdlerize", "bowdler"},
    {"probate", "probat"},
    {"rate", "rate"},
    {"cease", "ceas"},
    {"controlling", "control"},
    {"roll", "roll"},
    {"generalization", "gener"},
    {"generalizations", "gener"},
    {"skies", "sky"},
    {"Skies", "ski"},
    {"dying", "die"},
    {"Dying", "dy"},
    {"dies", "die"},
    {"died", "die"},
    {"spied", "spi"},
    {"flies", "fli"},
    {"news", "news"},
    {"innings", "inning"},
    {"civilization.", "civilization."},
    {"because", "becaus"},
    {"becaus", "becau"},
    {"enjoy", "enjoy"},
    {"syzygy", "syzygi"},
    {"toy", "toy"},
    {"yyyyy", "yyyyy"},
    {"yyyy", "yyyi"},
    {"archaeology", "archaeolog"},
    {"geology", "geolog"},
    {"theology", "theolog"},
    {"hopefulli", "hope"},
    {"enjoyment", "enjoy"},
    {"spy", "spi"},
    {"fly", "fli"},
    {"try", "tri"},
    {"is", "is"},
    {"as", "as"},
    {"us", "us"},
    {"a1", "a1"},
    {"x", "x"},
    {"by", "by"},
    {"was", "wa"},
    {"this", "thi"},
    {"the", "the"},
    {"an", "an"},
    {"ed", "ed"},
    {"ing", "ing"},
    {"eds", "ed"},
    {"sings", "sing"},
    {"a*ded", "ad"},
    {"a*ding", "ad"},
    {"fuzzed", "fuzz"},
    {"", ""},
    {"A", "a"},
    {"AB", "ab"},
    {"ABC", "abc"},
    {"1920\xe2\x80\x99s", "1920\xe2\x80\x99"},
    {"\xc4\xb0stanbul", "i\xcc\x87stanbul"},
    {"\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82"},
    {"\xce\x91\xce\xa3", "\xce\xb1\xcf\x82"},
    {"\xc4\xb0", "i\xcc\x87"},
    {"a\xc4\xb0", "ai\xcc\x87"},
    {"a\xc4\xb0\xc4\xb0", "ai\xcc\x87i\xcc\x87"},
    {"\xc3\x89mile", "\xc3\xa9mile"},
    {"caf\xc3\xa9s", "caf\xc3\xa9"},
    {"na\xc3\xafvet\xc3\xa9", "na\xc3\xafvet\xc3\xa9"},
    {"\xef\xac\x81", "\xef\xac\x81"},
    {"\xc7\x85""emal", "\xc7\x86""emal"},
    {"\xce\xa3\xce\xa3\xce\xa3", "\xcf\x83\xcf\x83\xcf\x82"},
    {"RUNNING", "run"},
    {"\xc3\x9fing", "\xc3\x9fing"},
    {"\xc3\xa9\xc3\xa9ing", "\xc3\xa9\xc3\xa9ing"},
    {"hopp\xc3\xa9\xc3\xa9""d", "hopp\xc3\xa9\xc3\xa9""d"},
    {"\xff", "\xef\xbf\xbd"},
    {"ab\xff", "ab\xef\xbf\xbd"},
    {"runn\xe2\x82ing", "runn\xef\xbf\xbd"},
    {"\xc3\xa9\xc3""ed", "\xc3\xa9\xef\xbf\xbd""ed"},
    {"caresses\xed\xa0\x80s", "caresses\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
};

static void test_nltk_cases(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(cases[i].word, cases[i].stem);
}

/* Words longer than the stack buffer go through the heap path. */
static void test_long_words(void **state)
{
    char in[1024], out[PORTER_OUT_MAX(1024)], want[1024];
    size_t n;

    memset(in, 'a', 300);
    memcpy(in + 300, "tional", 6);
    memset(want, 'a', 300);
    memcpy(want + 300, "tion", 4);
    n = porter_stem(in, 306, out, sizeof out);
    assert_int_equal(n, 304);
    assert_memory_equal(out, want, 304);

    memset(in, 'Y', 301); /* y's alternate consonant/vowel: the last is a vowel */
    memset(want, 'y', 299);
    want[299] = 'i';
    n = porter_stem(in, 300, out, sizeof out);
    assert_int_equal(n, 300);
    assert_memory_equal(out, want, 300);
    n = porter_stem(in, 301, out, sizeof out);
    assert_int_equal(n, 301);
    assert_memory_equal(out, want, 299);
    assert_memory_equal(out + 299, "yy", 2);

    for (int i = 0; i < 100; i++)
        memcpy(in + 2 * i, "\xc3\xa9", 2); /* 'é' x 100 + "ness" */
    memcpy(in + 200, "ness", 4);
    n = porter_stem(in, 204, out, sizeof out);
    assert_int_equal(n, 204);
    assert_memory_equal(out, in, 204);

    /* NLTK's recursive consonant test overflows Python's stack here; the
     * iterative one must simply work. */
    static char ys[100000];
    memset(ys, 'y', sizeof ys);
    char *big = malloc(PORTER_OUT_MAX(sizeof ys));
    assert_non_null(big);
    n = porter_stem(ys, sizeof ys, big, PORTER_OUT_MAX(sizeof ys));
    assert_int_equal(n, sizeof ys);
    assert_int_equal(big[sizeof ys - 1], 'i');
    free(big);
}

static void test_output_buffer(void **state)
{
    char out[8];
    /* Full length is returned even when the buffer is short; the text is
     * cut between characters and NUL-terminated. */
    assert_int_equal(porter_stem("generalizations", 15, out, 4), 5);
    assert_string_equal(out, "gen");
    assert_int_equal(porter_stem("caf\xc3\xa9s", 6, out, 5), 5);
    assert_string_equal(out, "caf");
    assert_int_equal(porter_stem("caf\xc3\xa9s", 6, out, 6), 5);
    assert_string_equal(out, "caf\xc3\xa9");
    assert_int_equal(porter_stem("cats", 4, NULL, 0), 3);
    assert_int_equal(porter_stem("", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void test_fixture_pairs(void **state)
{
    char *path = testutil_shared_or_skip("fixtures/tmdb5000_porter_pairs.tsv");
    if (!path)
        return;
    size_t len;
    char *data = testutil_read_file(path, &len);
    assert_non_null(data);
    char *line = data, *end = data + len;
    size_t pairs = 0, bad = 0, lineno = 0;
    /* Remember tokens for the timing pass. */
    const char **tok = malloc(sizeof *tok * 50000);
    size_t *toklen = malloc(sizeof *toklen * 50000);
    assert_non_null(tok);
    assert_non_null(toklen);
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *eol = nl ? nl : end;
        lineno++;
        if (lineno == 1) {
            assert_true(eol - line == 10 && memcmp(line, "token\tstem", 10) == 0);
        } else if (eol > line) {
            char *tab = memchr(line, '\t', (size_t)(eol - line));
            assert_non_null(tab);
            size_t wl = (size_t)(tab - line), sl = (size_t)(eol - tab - 1);
            char out[PORTER_OUT_MAX(256)];
            assert_true(wl < 256);
            size_t n = porter_stem(line, wl, out, sizeof out);
            if (n != sl || memcmp(out, tab + 1, sl) != 0) {
                if (bad < 10)
                    print_message("line %zu: stem('%.*s') = '%s', want '%.*s'\n", lineno,
                                  (int)wl, line, out, (int)sl, tab + 1);
                bad++;
            }
            if (pairs < 50000) {
                tok[pairs] = line;
                toklen[pairs] = wl;
            }
            pairs++;
        }
        line = eol + 1;
    }
    print_message("%zu pairs, %zu mismatches\n", pairs, bad);
    assert_int_equal(pairs, 41103);
    assert_int_equal(bad, 0);

    /* Throughput (informational): stem every fixture token a few times. */
    char out[PORTER_OUT_MAX(256)];
    size_t sink = 0;
    const int reps = 5;
    double t0 = clock_mono_sec();
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < pairs && i < 50000; i++)
            sink += porter_stem(tok[i], toklen[i], out, sizeof out);
    double sec = clock_mono_sec() - t0;
    print_message("%.0f stems/s (%zu bytes out)\n", (double)reps * (double)pairs / sec, sink);
    free(tok);
    free(toklen);
    free(data);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nltk_cases),
        cmocka_unit_test(test_long_words),
        cmocka_unit_test(test_output_buffer),
        cmocka_unit_test(test_fixture_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
