/*
 * stopwords.c: scikit-learn's ENGLISH_STOP_WORDS, as a sorted array.
 *
 * The 318 words are those of sklearn/feature_extraction/_stop_words.py
 * (unchanged since scikit-learn 0.x; checked against Debian's scikit-learn
 * 1.2.1). They are all lower-case ASCII, so membership is a quick reject on
 * length and first byte and then a binary search in code point (byte) order.
 */
#include "common/text/stopwords.h"

#include <string.h>

#define STOPWORDS_MAXLEN 12

static const char *const english[] = {
    "a", "about", "above", "across", "after", "afterwards", "again",
    "against", "all", "almost", "alone", "along", "already", "also",
    "although", "always", "am", "among", "amongst", "amoungst", "amount",
    "an", "and", "another", "any", "anyhow", "anyone", "anything", "anyway",
    "anywhere", "are", "around", "as", "at", "back", "be", "became",
    "because", "become", "becomes", "becoming", "been", "before",
    "beforehand", "behind", "being", "below", "beside", "besides", "between",
    "beyond", "bill", "both", "bottom", "but", "by", "call", "can", "cannot",
    "cant", "co", "con", "could", "couldnt", "cry", "de", "describe",
    "detail", "do", "done", "down", "due", "during", "each", "eg", "eight",
    "either", "eleven", "else", "elsewhere", "empty", "enough", "etc", "even",
    "ever", "every", "everyone", "everything", "everywhere", "except", "few",
    "fifteen", "fifty", "fill", "find", "fire", "first", "five", "for",
    "former", "formerly", "forty", "found", "four", "from", "front", "full",
    "further", "get", "give", "go", "had", "has", "hasnt", "have", "he",
    "hence", "her", "here", "hereafter", "hereby", "herein", "hereupon",
    "hers", "herself", "him", "himself", "his", "how", "however", "hundred",
    "i", "ie", "if", "in", "inc", "indeed", "interest", "into", "is", "it",
    "its", "itself", "keep", "last", "latter", "latterly", "least", "less",
    "ltd", "made", "many", "may", "me", "meanwhile", "might", "mill", "mine",
    "more", "moreover", "most", "mostly", "move", "much", "must", "my",
    "myself", "name", "namely", "neither", "never", "nevertheless", "next",
    "nine", "no", "nobody", "none", "noone", "nor", "not", "nothing", "now",
    "nowhere", "of", "off", "often", "on", "once", "one", "only", "onto",
    "or", "other", "others", "otherwise", "our", "ours", "ourselves", "out",
    "over", "own", "part", "per", "perhaps", "please", "put", "rather", "re",
    "same", "see", "seem", "seemed", "seeming", "seems", "serious", "several",
    "she", "should", "show", "side", "since", "sincere", "six", "sixty", "so",
    "some", "somehow", "someone", "something", "sometime", "sometimes",
    "somewhere", "still", "such", "system", "take", "ten", "than", "that",
    "the", "their", "them", "themselves", "then", "thence", "there",
    "thereafter", "thereby", "therefore", "therein", "thereupon", "these",
    "they", "thick", "thin", "third", "this", "those", "though", "three",
    "through", "throughout", "thru", "thus", "to", "together", "too", "top",
    "toward", "towards", "twelve", "twenty", "two", "un", "under", "until",
    "up", "upon", "us", "very", "via", "was", "we", "well", "were", "what",
    "whatever", "when", "whence", "whenever", "where", "whereafter",
    "whereas", "whereby", "wherein", "whereupon", "wherever", "whether",
    "which", "while", "whither", "who", "whoever", "whole", "whom", "whose",
    "why", "will", "with", "within", "without", "would", "yet", "you", "your",
    "yours", "yourself", "yourselves",
};

#define N_ENGLISH (sizeof english / sizeof english[0])

size_t stopwords_english_count(void)
{
    return N_ENGLISH;
}

const char *stopwords_english_at(size_t i)
{
    return i < N_ENGLISH ? english[i] : NULL;
}

/* Byte-order comparison of (w, len) with the NUL-terminated word b. */
static int cmp(const char *w, size_t len, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(w, b, len < blen ? len : blen);
    if (c != 0)
        return c;
    return len < blen ? -1 : len > blen;
}

int stopwords_is_english(const char *w, size_t len)
{
    if (len == 0 || len > STOPWORDS_MAXLEN || w[0] < 'a' || w[0] > 'z')
        return 0;
    size_t lo = 0, hi = N_ENGLISH;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(w, len, english[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}
