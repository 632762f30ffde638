/*
 * apkscan.extract._tlshfast: the TLSH digest (version T1: 128 buckets, a one-byte
 * checksum, a sliding window of 5 bytes) of a buffer, computed without the GIL, so that the
 * extractor's helper threads hash the parts of an APK while the main thread parses it.
 *
 * The digest is the same as py-tlsh's tlsh.hash() (tests hold them equal on random data,
 * every length-class boundary and the entries of real APKs); py-tlsh stays the reference
 * and computes the distances. py-tlsh holds the GIL while it hashes: about 35 ms on the
 * main thread of a 13-dex app's scan, which this moves to a helper.
 *
 * The two tables below (Pearson's permutation and the upper bounds of the length classes)
 * are those of the TLSH reference implementation, Copyright 2010-2014 Trend Micro,
 * offered under the Apache License 2.0 or a BSD licence (https://github.com/trendmicro/tlsh).
 * The algorithm: J. Oliver, C. Cheng, Y. Chen, "TLSH - A Locality Sensitive Hash" (2013).
 *
 * tlsh(data) -> str
 *   "T1" + 70 hex digits, or "" when the data is under 50 bytes or too uniform to hash
 *   (its third quartile is 0, or half the buckets or fewer are used): py-tlsh's "TNULL".
 * Any bytes are valid input: the function only counts them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char pearson[256] = {
    1, 87, 49, 12, 176, 178, 102, 166, 121, 193, 6, 84, 249, 230, 44, 163,
    14, 197, 213, 181, 161, 85, 218, 80, 64, 239, 24, 226, 236, 142, 38, 200,
    110, 177, 104, 103, 141, 253, 255, 50, 77, 101, 81, 18, 45, 96, 31, 222,
    25, 107, 190, 70, 86, 237, 240, 34, 72, 242, 20, 214, 244, 227, 149, 235,
    97, 234, 57, 22, 60, 250, 82, 175, 208, 5, 127, 199, 111, 62, 135, 248,
    174, 169, 211, 58, 66, 154, 106, 195, 245, 171, 17, 187, 182, 179, 0, 243,
    132, 56, 148, 75, 128, 133, 158, 100, 130, 126, 91, 13, 153, 246, 216, 219,
    119, 68, 223, 78, 83, 88, 201, 99, 122, 11, 92, 32, 136, 114, 52, 10,
    138, 30, 48, 183, 156, 35, 61, 26, 143, 74, 251, 94, 129, 162, 63, 152,
    170, 7, 115, 167, 241, 206, 3, 150, 55, 59, 151, 220, 90, 53, 23, 131,
    125, 173, 15, 238, 79, 95, 89, 16, 105, 137, 225, 224, 217, 160, 37, 123,
    118, 73, 2, 157, 46, 116, 9, 145, 134, 228, 207, 212, 202, 215, 69, 229,
    27, 188, 67, 124, 168, 252, 42, 4, 29, 108, 21, 247, 19, 205, 39, 203,
    233, 40, 186, 147, 198, 192, 155, 33, 164, 191, 98, 204, 165, 180, 117, 76,
    140, 36, 210, 172, 41, 54, 159, 8, 185, 232, 113, 196, 231, 47, 146, 120,
    51, 65, 28, 144, 254, 221, 93, 189, 194, 139, 112, 43, 71, 109, 184, 209,
};

/* Length class L of a digest: the least i with length <= length_bounds[i]. */
static const uint32_t length_bounds[170] = {
    1, 2, 3, 5, 7, 11, 17, 25, 38, 57,
    86, 129, 194, 291, 437, 656, 854, 1110, 1443, 1876,
    2439, 3171, 3475, 3823, 4205, 4626, 5088, 5597, 6157, 6772,
    7450, 8195, 9014, 9916, 10907, 11998, 13198, 14518, 15970, 17567,
    19323, 21256, 23382, 25720, 28292, 31121, 34233, 37656, 41422, 45564,
    50121, 55133, 60646, 66711, 73382, 80721, 88793, 97672, 107439, 118183,
    130002, 143002, 157302, 173032, 190335, 209369, 230306, 253337, 278670, 306538,
    337191, 370911, 408002, 448802, 493682, 543050, 597356, 657091, 722800, 795081,
    874589, 962048, 1058252, 1164078, 1280486, 1408534, 1549388, 1704327, 1874759, 2062236,
    2268459, 2495305, 2744836, 3019320, 3321252, 3653374, 4018711, 4420582, 4862641, 5348905,
    5883796, 6472176, 7119394, 7831333, 8614467, 9475909, 10423501, 11465851, 12612437, 13873681,
    15261050, 16787154, 18465870, 20312458, 22343706, 24578077, 27035886, 29739474, 32713425, 35984770,
    39583245, 43541573, 47895730, 52685306, 57953837, 63749221, 70124148, 77136564, 84850228, 93335252,
    102668779, 112935659, 124229227, 136652151, 150317384, 165349128, 181884040, 200072456, 220079703, 242087671,
    266296456, 292926096, 322218735, 354440623, 389884688, 428873168, 471760495, 518936559, 570830240, 627913311,
    690704607, 759775136, 835752671, 919327967, 1011260767, 1112386880, 1223623232, 1345985727, 1480584256, 1628642751,
    1791507135, 1970657856, 2167723648, 2384496256, 2622945920, 2885240448, 3173764736, 3491141248, 3840255616, 4224281216,
};

#define MIN_LENGTH 50
#define EFF_BUCKETS 128
#define CODE_BYTES (EFF_BUCKETS / 4)

/* Pearson hash of (salt, a, b, c), with the salt's first step taken: s = pearson[salt]. */
#define MAP(s, a, b, c) (pearson[pearson[pearson[(s) ^ (a)] ^ (b)] ^ (c)])

static unsigned int
length_class(uint64_t len)
{
    unsigned int lo = 0, hi = 169;
    if (len > length_bounds[169])
        return 169;
    while (lo < hi) { /* the least index whose bound is >= len */
        unsigned int mid = (lo + hi) / 2;
        if (length_bounds[mid] >= len)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static unsigned char
swap_nibbles(unsigned char b)
{
    return (unsigned char)((b >> 4) | (b << 4));
}

/* Writes the 72-character digest into out (NUL-terminated) and returns 1, or returns 0
 * when there is no digest. */
static int
digest(const unsigned char *d, Py_ssize_t n, char *out)
{
    /* salts 0, 2, 3, 5, 7, 11, 13 after their first Pearson step */
    const unsigned char s0 = pearson[0], s2 = pearson[2], s3 = pearson[3], s5 = pearson[5],
                        s7 = pearson[7], s11 = pearson[11], s13 = pearson[13];
    uint32_t bucket[256];
    unsigned char checksum = 0;
    memset(bucket, 0, sizeof bucket);
    if (n < MIN_LENGTH)
        return 0;
    for (Py_ssize_t i = 4; i < n; i++) {
        unsigned char a4 = d[i], a3 = d[i - 1], a2 = d[i - 2], a1 = d[i - 3], a0 = d[i - 4];
        checksum = MAP(s0, a4, a3, checksum);
        bucket[MAP(s2, a4, a3, a2)]++;
        bucket[MAP(s3, a4, a3, a1)]++;
        bucket[MAP(s5, a4, a2, a1)]++;
        bucket[MAP(s7, a4, a2, a0)]++;
        bucket[MAP(s11, a4, a3, a0)]++;
        bucket[MAP(s13, a4, a1, a0)]++;
    }
    uint32_t sorted[EFF_BUCKETS];
    memcpy(sorted, bucket, sizeof sorted);
    qsort(sorted, EFF_BUCKETS, sizeof sorted[0], cmp_u32);
    uint32_t q1 = sorted[EFF_BUCKETS / 4 - 1], q2 = sorted[EFF_BUCKETS / 2 - 1],
             q3 = sorted[EFF_BUCKETS * 3 / 4 - 1];
    if (q3 == 0)
        return 0;
    int nonzero = 0;
    for (int i = 0; i < EFF_BUCKETS; i++)
        nonzero += bucket[i] > 0;
    if (nonzero <= EFF_BUCKETS / 2)
        return 0;
    unsigned char raw[3 + CODE_BYTES];
    raw[0] = swap_nibbles(checksum);
    raw[1] = swap_nibbles((unsigned char)length_class((uint64_t)n));
    unsigned int r1 = (unsigned int)((uint64_t)q1 * 100 / q3) % 16;
    unsigned int r2 = (unsigned int)((uint64_t)q2 * 100 / q3) % 16;
    raw[2] = (unsigned char)(r1 << 4 | r2);
    for (int i = 0; i < CODE_BYTES; i++) {
        unsigned char h = 0;
        for (int j = 0; j < 4; j++) {
            uint32_t k = bucket[4 * i + j];
            if (k > q3)
                h += (unsigned char)(3 << (j * 2));
            else if (k > q2)
                h += (unsigned char)(2 << (j * 2));
            else if (k > q1)
                h += (unsigned char)(1 << (j * 2));
        }
        raw[3 + CODE_BYTES - 1 - i] = h; /* the body is written last bucket group first */
    }
    static const char hex[] = "0123456789ABCDEF";
    out[0] = 'T';
    out[1] = '1';
    for (int i = 0; i < 3 + CODE_BYTES; i++) {
        out[2 + 2 * i] = hex[raw[i] >> 4];
        out[3 + 2 * i] = hex[raw[i] & 15];
    }
    out[2 + 2 * (3 + CODE_BYTES)] = 0;
    return 1;
}

static PyObject *
tlsh(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    char out[2 + 2 * (3 + CODE_BYTES) + 1];
    int ok;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    ok = digest((const unsigned char *)view.buf, view.len, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyUnicode_FromString(ok ? out : "");
}

static PyMethodDef methods_def[] = {
    {"tlsh", tlsh, METH_O, "TLSH (T1) digest of a buffer, '' when it has none; without the GIL."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tlshfast", NULL, -1, methods_def, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC
PyInit__tlshfast(void)
{
    return PyModule_Create(&module);
}
