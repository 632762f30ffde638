/*
 * _dexfast: the hot parts of apkscan.extract.dex in C.
 *
 * apkscan/extract/dex.py is the reference implementation: every function here returns
 * exactly what the pure-Python code there computes, for any input bytes (hostile ones
 * included), and dex.py writes the tamper notes from the counters returned here. The
 * Dalvik layout is described in the AOSP "Dalvik Executable format" and "Dalvik
 * bytecode" pages; the comments of dex.py explain each rule (budgets, ordering).
 *
 * Conventions: every offset and count read from the file is untrusted. Positions are
 * int64_t, every read is checked against the data length first, and the arithmetic on
 * file values is done in 64 bits (a fill-array-data payload can claim 2^48 bytes, a
 * ULEB128 of five bytes holds 35 bits). Nothing loops without advancing.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define HEADER_SIZE 0x70
#define MAX_PARAMS 256
#define SHORT_NAME 64
#define LEAN_STRING 256

/* ------------------------------------------------------------------ small helpers */

static inline uint32_t
rd_u16(const uint8_t *d, int64_t p)
{
    return (uint32_t)d[p] | ((uint32_t)d[p + 1] << 8);
}

static inline uint32_t
rd_u32(const uint8_t *d, int64_t p)
{
    return (uint32_t)d[p] | ((uint32_t)d[p + 1] << 8) | ((uint32_t)d[p + 2] << 16) | ((uint32_t)d[p + 3] << 24);
}

/* Literal pieces of composed names, created at module init. */
static PyObject *s_arrow;    /* "->" */
static PyObject *s_colon;    /* ":" */
static PyObject *s_open;     /* "(" */
static PyObject *s_close;    /* ")" */
static PyObject *s_ellipsis; /* U+2026 */
static PyObject *s_empty;    /* "" */

/* Random seed mixed into the hash tables, so that a crafted file cannot aim at one
 * bucket (the results never depend on it: only insertion order is observable). */
static uint64_t hash_seed = 0x9E3779B97F4A7C15ULL;

static inline uint64_t
mix64(uint64_t k)
{
    k ^= hash_seed;
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

/* ------------------------------------------------------------------ growable arrays
 * PyMem_Raw* may be called without the GIL (the walk runs with it released). */

typedef struct {
    uint64_t *v;
    size_t len;
    size_t cap;
} vec64;

static int
vec_reserve(vec64 *a, size_t extra)
{
    if (extra <= a->cap - a->len) {
        return 0;
    }
    if (extra > (SIZE_MAX / sizeof(uint64_t)) - a->len) {
        return -1;
    }
    size_t need = a->len + extra;
    size_t cap = a->cap ? a->cap : 16;
    while (cap < need) {
        if (cap > (SIZE_MAX / sizeof(uint64_t)) / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint64_t *v = (uint64_t *)PyMem_RawRealloc(a->v, cap * sizeof(uint64_t));
    if (v == NULL) {
        return -1;
    }
    a->v = v;
    a->cap = cap;
    return 0;
}

static inline int
vec_push(vec64 *a, uint64_t x)
{
    if (a->len == a->cap && vec_reserve(a, 1) < 0) {
        return -1;
    }
    a->v[a->len++] = x;
    return 0;
}

static void
vec_free(vec64 *a)
{
    PyMem_RawFree(a->v);
    a->v = NULL;
    a->len = a->cap = 0;
}

/* ------------------------------------------------------------------ hash table
 * Open addressing, linear probing, uint64 keys (UINT64_MAX is "empty": no key used here
 * can take that value), uint32 values. Grows at half load. */

#define EMPTY_KEY UINT64_MAX

typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    size_t mask;
    size_t used;
} htab;

static int
ht_init(htab *t, size_t expect)
{
    size_t cap = 16;
    while (cap < 2 * expect + 2 && cap < ((size_t)1 << 40)) {
        cap *= 2;
    }
    t->keys = (uint64_t *)PyMem_RawMalloc(cap * sizeof(uint64_t));
    t->vals = (uint32_t *)PyMem_RawMalloc(cap * sizeof(uint32_t));
    if (t->keys == NULL || t->vals == NULL) {
        PyMem_RawFree(t->keys);
        PyMem_RawFree(t->vals);
        t->keys = NULL;
        t->vals = NULL;
        return -1;
    }
    memset(t->keys, 0xFF, cap * sizeof(uint64_t));
    t->mask = cap - 1;
    t->used = 0;
    return 0;
}

static void
ht_free(htab *t)
{
    PyMem_RawFree(t->keys);
    PyMem_RawFree(t->vals);
    t->keys = NULL;
    t->vals = NULL;
}

static int
ht_grow(htab *t)
{
    size_t old_cap = t->mask + 1;
    size_t cap = old_cap * 2;
    uint64_t *keys = (uint64_t *)PyMem_RawMalloc(cap * sizeof(uint64_t));
    uint32_t *vals = (uint32_t *)PyMem_RawMalloc(cap * sizeof(uint32_t));
    if (keys == NULL || vals == NULL) {
        PyMem_RawFree(keys);
        PyMem_RawFree(vals);
        return -1;
    }
    memset(keys, 0xFF, cap * sizeof(uint64_t));
    size_t mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        uint64_t k = t->keys[i];
        if (k == EMPTY_KEY) {
            continue;
        }
        size_t h = (size_t)mix64(k) & mask;
        while (keys[h] != EMPTY_KEY) {
            h = (h + 1) & mask;
        }
        keys[h] = k;
        vals[h] = t->vals[i];
    }
    PyMem_RawFree(t->keys);
    PyMem_RawFree(t->vals);
    t->keys = keys;
    t->vals = vals;
    t->mask = mask;
    return 0;
}

/* Find `key`; when absent insert it with value `val`. Returns 1 if it was present (and
 * stores its value in *out), 0 if inserted, -1 on memory error. */
static int
ht_get_or_add(htab *t, uint64_t key, uint32_t val, uint32_t *out)
{
    size_t h = (size_t)mix64(key) & t->mask;
    for (;;) {
        uint64_t k = t->keys[h];
        if (k == key) {
            if (out) {
                *out = t->vals[h];
            }
            return 1;
        }
        if (k == EMPTY_KEY) {
            break;
        }
        h = (h + 1) & t->mask;
    }
    t->keys[h] = key;
    t->vals[h] = val;
    t->used++;
    if (out) {
        *out = val;
    }
    if (2 * t->used > t->mask + 1 && ht_grow(t) < 0) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ strings */

static inline Py_UCS4
max_char(PyObject *s)
{
    return PyUnicode_MAX_CHAR_VALUE(s);
}

static void
copy_chars(int dk, void *dd, Py_ssize_t at, PyObject *s)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    if (len == 0) {
        return;
    }
    int sk = PyUnicode_KIND(s);
    const void *sd = PyUnicode_DATA(s);
    if (sk == dk) {
        memcpy((char *)dd + at * dk, sd, (size_t)len * (size_t)dk);
        return;
    }
    /* Widening only: the destination kind is the largest of the parts. */
    if (dk == PyUnicode_2BYTE_KIND) {
        Py_UCS2 *o = (Py_UCS2 *)dd + at;
        const Py_UCS1 *in = (const Py_UCS1 *)sd;
        for (Py_ssize_t i = 0; i < len; i++) {
            o[i] = in[i];
        }
    }
    else {
        Py_UCS4 *o = (Py_UCS4 *)dd + at;
        if (sk == PyUnicode_1BYTE_KIND) {
            const Py_UCS1 *in = (const Py_UCS1 *)sd;
            for (Py_ssize_t i = 0; i < len; i++) {
                o[i] = in[i];
            }
        }
        else {
            const Py_UCS2 *in = (const Py_UCS2 *)sd;
            for (Py_ssize_t i = 0; i < len; i++) {
                o[i] = in[i];
            }
        }
    }
}

/* The concatenation of k str objects. Each part is in canonical form (the narrowest
 * kind that holds its characters), so the widest kind among them is the canonical kind
 * of the result, as Python's own concatenation would produce. */
static PyObject *
concat(PyObject *const *parts, Py_ssize_t k)
{
    Py_ssize_t len = 0;
    Py_UCS4 maxc = 0;
    int ascii = 1;
    for (Py_ssize_t i = 0; i < k; i++) {
        len += PyUnicode_GET_LENGTH(parts[i]); /* each part is at most the data length */
        ascii &= PyUnicode_IS_ASCII(parts[i]) ? 1 : 0;
    }
    if (ascii) { /* the usual case */
        PyObject *out = PyUnicode_New(len, 0x7F);
        if (out == NULL) {
            return NULL;
        }
        Py_UCS1 *o = PyUnicode_1BYTE_DATA(out);
        for (Py_ssize_t i = 0; i < k; i++) {
            Py_ssize_t l = PyUnicode_GET_LENGTH(parts[i]);
            memcpy(o, PyUnicode_1BYTE_DATA(parts[i]), (size_t)l);
            o += l;
        }
        return out;
    }
    len = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t l = PyUnicode_GET_LENGTH(parts[i]);
        if (l > PY_SSIZE_T_MAX - len) {
            PyErr_NoMemory();
            return NULL;
        }
        len += l;
        Py_UCS4 m = max_char(parts[i]);
        if (m > maxc) {
            maxc = m;
        }
    }
    PyObject *out = PyUnicode_New(len, maxc);
    if (out == NULL) {
        return NULL;
    }
    int dk = PyUnicode_KIND(out);
    void *dd = PyUnicode_DATA(out);
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        copy_chars(dk, dd, at, parts[i]);
        at += PyUnicode_GET_LENGTH(parts[i]);
    }
    return out;
}

/* f"<bad-{what}-{idx}>", the placeholder of dex._pick. */
static PyObject *
placeholder(const char *what, uint64_t idx)
{
    return PyUnicode_FromFormat("<bad-%s-%llu>", what, (unsigned long long)idx);
}

static Py_ssize_t
placeholder_len(const char *what, uint64_t idx)
{
    Py_ssize_t digits = 1;
    while (idx >= 10) {
        idx /= 10;
        digits++;
    }
    return (Py_ssize_t)strlen(what) + 6 + digits; /* "<bad-" what "-" digits ">" */
}

/* table[idx] as a new reference, or the placeholder when idx is out of range. */
static inline PyObject *
pick(PyObject *table, uint64_t idx, const char *what, int *bad)
{
    if (idx < (uint64_t)PyList_GET_SIZE(table)) {
        PyObject *s = PyList_GET_ITEM(table, (Py_ssize_t)idx);
        Py_INCREF(s);
        return s;
    }
    *bad = 1;
    return placeholder(what, idx);
}

/* dex._shorten for one name (new reference). */
static PyObject *
shorten(PyObject *s)
{
    if (PyUnicode_GET_LENGTH(s) <= SHORT_NAME) {
        Py_INCREF(s);
        return s;
    }
    PyObject *head = PyUnicode_Substring(s, 0, SHORT_NAME);
    if (head == NULL) {
        return NULL;
    }
    PyObject *parts[2] = {head, s_ellipsis};
    PyObject *out = concat(parts, 2);
    Py_DECREF(head);
    return out;
}

static int
all_str(PyObject *list, const char *name)
{
    if (!PyList_Check(list)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of str", name);
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        if (!PyUnicode_Check(PyList_GET_ITEM(list, i))) {
            PyErr_Format(PyExc_TypeError, "%s must be a list of str", name);
            return -1;
        }
    }
    return 0;
}

/* Whether `count` items of `stride` bytes at `off` lie inside n bytes. */
static int
table_fits(Py_ssize_t n, Py_ssize_t off, Py_ssize_t count, Py_ssize_t stride)
{
    if (count < 0 || off < 0 || stride <= 0) {
        PyErr_SetString(PyExc_ValueError, "negative offset or count");
        return 0;
    }
    if (count == 0) {
        return 1;
    }
    if (off > n || count > (n - off) / stride) {
        PyErr_SetString(PyExc_ValueError, "table outside the data");
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ read_strings */

PyDoc_STRVAR(read_strings_doc,
"read_strings(data, off, count, decode_mutf8) -> (strings, bad, lean)\n\n"
"dex._read_strings over the u4 string_ids at data[off:off + 4 * count].");

static PyObject *
read_strings(PyObject *self, PyObject *args)
{
    PyObject *data_obj, *decode;
    Py_ssize_t off, count;
    if (!PyArg_ParseTuple(args, "O!nnO:read_strings", &PyBytes_Type, &data_obj, &off, &count, &decode)) {
        return NULL;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    int64_t n = (int64_t)PyBytes_GET_SIZE(data_obj);
    if (!table_fits((Py_ssize_t)n, off, count, 4)) {
        return NULL;
    }
    PyObject *out = PyList_New(count);
    if (out == NULL) {
        return NULL;
    }
    Py_ssize_t bad = 0;
    int64_t allowance = 8 * n + ((int64_t)1 << 24);
    int64_t budget = allowance;
    int64_t window = n + 1;
    int lean = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t so = rd_u32(d, off + 4 * (int64_t)i);
        PyObject *s;
        if (so >= n) {
            bad++;
            Py_INCREF(s_empty);
            PyList_SET_ITEM(out, i, s_empty);
            continue;
        }
        /* Skip the ULEB128 utf16_size (1 to 5 bytes). */
        int64_t p = so + 1;
        if (d[so] > 0x7F) {
            int64_t stop = so + 5 < n ? so + 5 : n;
            while (p < stop && d[p - 1] > 0x7F) {
                p++;
            }
        }
        int64_t lim = p + window < n ? p + window : n; /* p <= n here */
        const uint8_t *z = lim > p ? (const uint8_t *)memchr(d + p, 0, (size_t)(lim - p)) : NULL;
        int64_t end;
        if (z != NULL) {
            end = z - d;
        }
        else {
            bad++;
            end = lim;
        }
        budget -= end - p;
        if (budget < 0 && !lean) {
            lean = 1;
            window = LEAN_STRING;
            if (end > p + window) {
                end = p + window;
            }
        }
        else if (lean && window && budget < -allowance) {
            window = 0; /* twice the allowance read: the rest stays empty, as in dex.py */
        }
        s = PyUnicode_DecodeUTF8((const char *)d + p, (Py_ssize_t)(end - p), NULL);
        if (s == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                goto error;
            }
            PyErr_Clear();
            if (lean) {
                s = PyUnicode_DecodeUTF8((const char *)d + p, (Py_ssize_t)(end - p), "replace");
            }
            else {
                PyObject *raw = PyBytes_FromStringAndSize((const char *)d + p, (Py_ssize_t)(end - p));
                if (raw == NULL) {
                    goto error;
                }
                s = PyObject_CallOneArg(decode, raw);
                Py_DECREF(raw);
                if (s != NULL && !PyUnicode_Check(s)) {
                    Py_DECREF(s);
                    PyErr_SetString(PyExc_TypeError, "decode_mutf8 must return str");
                    s = NULL;
                }
            }
            if (s == NULL) {
                goto error;
            }
        }
        PyList_SET_ITEM(out, i, s);
    }
    return Py_BuildValue("(NnO)", out, bad, lean ? Py_True : Py_False);

error:
    Py_DECREF(out); /* unset items are NULL, which list dealloc skips */
    return NULL;
}

/* ------------------------------------------------------------------ pick */

PyDoc_STRVAR(pick_doc,
"pick(data, off, count, stride, table, what) -> (names, bad)\n\n"
"table[u4] for the u4 at the start of each of `count` items of `stride` bytes at `off`,\n"
"or f'<bad-{what}-{idx}>' when out of range (bad tells whether any was).");

static PyObject *
pick_names(PyObject *self, PyObject *args)
{
    PyObject *data_obj, *table;
    Py_ssize_t off, count, stride;
    const char *what;
    if (!PyArg_ParseTuple(args, "O!nnnO!s:pick", &PyBytes_Type, &data_obj, &off, &count, &stride, &PyList_Type,
                          &table, &what)) {
        return NULL;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    if (stride < 4) {
        PyErr_SetString(PyExc_ValueError, "stride must be at least 4");
        return NULL;
    }
    if (!table_fits(PyBytes_GET_SIZE(data_obj), off, count, stride)) {
        return NULL;
    }
    PyObject *out = PyList_New(count);
    if (out == NULL) {
        return NULL;
    }
    int bad = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *s = pick(table, rd_u32(d, off + stride * (int64_t)i), what, &bad);
        if (s == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, s);
    }
    return Py_BuildValue("(NO)", out, bad ? Py_True : Py_False);
}

/* ------------------------------------------------------------------ protos */

typedef struct {
    int64_t off;    /* parameter list offset */
    int64_t count;  /* entries, or -1 when the list is unusable (and not offset 0) */
    int64_t chars;  /* composed length */
    PyObject *text; /* composed parameters (owned), filled in the second pass */
} plist;

/* dex._param_types: the number of u2 entries at off + 4, or -1 when unusable. */
static int64_t
param_count(const uint8_t *d, int64_t n, int64_t off)
{
    int64_t count = off + 4 <= n ? (int64_t)rd_u32(d, off) : -1;
    if (0 <= count && count <= MAX_PARAMS && off + 4 + 2 * count <= n) {
        return count;
    }
    return -1;
}

/* The parameter text of one list: the whole join, or when `short_form` the first
 * SHORT_NAME characters of it and an ellipsis when it is longer (dex._short_join). */
static PyObject *
param_text(const uint8_t *d, const plist *pl, PyObject *types, int short_form)
{
    if (pl->count <= 0 || pl->chars == 0) {
        Py_INCREF(s_empty);
        return s_empty;
    }
    PyObject *parts[MAX_PARAMS + 1];
    Py_ssize_t k = 0;
    PyObject *out = NULL;
    int bad = 0;
    Py_ssize_t room = SHORT_NAME;
    int truncated = 0;
    for (int64_t i = 0; i < pl->count; i++) {
        PyObject *s = pick(types, rd_u16(d, pl->off + 4 + 2 * i), "type", &bad);
        if (s == NULL) {
            goto done;
        }
        if (short_form) {
            Py_ssize_t l = PyUnicode_GET_LENGTH(s);
            if (l > room) {
                PyObject *head = PyUnicode_Substring(s, 0, room);
                Py_DECREF(s);
                if (head == NULL) {
                    goto done;
                }
                parts[k++] = head;
                truncated = 1;
                break;
            }
            room -= l;
        }
        parts[k++] = s;
    }
    if (truncated) {
        Py_INCREF(s_ellipsis);
        parts[k++] = s_ellipsis;
    }
    out = concat(parts, k);
done:
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_DECREF(parts[i]);
    }
    return out;
}

PyDoc_STRVAR(protos_doc,
"protos(data, off, count, types) -> (protos, bad_lists, shortened)\n\n"
"dex._protos over the proto_ids at data[off:off + 12 * count].");

static PyObject *
protos(PyObject *self, PyObject *args)
{
    PyObject *data_obj, *types;
    Py_ssize_t off, count;
    if (!PyArg_ParseTuple(args, "O!nnO!:protos", &PyBytes_Type, &data_obj, &off, &count, &PyList_Type, &types)) {
        return NULL;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    int64_t n = (int64_t)PyBytes_GET_SIZE(data_obj);
    if (!table_fits((Py_ssize_t)n, off, count, 12) || all_str(types, "types") < 0) {
        return NULL;
    }
    Py_ssize_t nt = PyList_GET_SIZE(types);
    PyObject *out = NULL;
    PyObject *result = NULL;
    PyObject *rets = NULL;
    plist *lists = NULL;
    uint32_t *row_list = NULL;
    size_t nlists = 0;
    htab seen = {0};
    Py_ssize_t bad_lists = 0;
    int64_t limit = 64 * 12 * (int64_t)count + ((int64_t)1 << 24);
    int64_t size = 2 * (int64_t)count;
    int short_form;

    lists = (plist *)PyMem_Malloc(((size_t)count + 1) * sizeof(plist));
    row_list = (uint32_t *)PyMem_Malloc(((size_t)count + 1) * sizeof(uint32_t));
    if (lists == NULL || row_list == NULL || ht_init(&seen, (size_t)count + 1) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    /* Offset 0: no parameters, and not an unusable list. */
    lists[0] = (plist){0, 0, 0, NULL};
    nlists = 1;
    if (ht_get_or_add(&seen, 0, 0, NULL) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    /* Pass 1: distinct parameter lists and their composed lengths. */
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t po = rd_u32(d, off + 12 * (int64_t)i + 8);
        uint32_t id;
        int r = ht_get_or_add(&seen, (uint64_t)po, (uint32_t)nlists, &id);
        if (r < 0) {
            PyErr_NoMemory();
            goto done;
        }
        row_list[i] = id;
        if (r == 1) {
            continue;
        }
        plist *pl = &lists[nlists++];
        pl->off = po;
        pl->count = param_count(d, n, po);
        pl->chars = 0;
        pl->text = NULL;
        if (pl->count < 0) {
            bad_lists++;
            continue;
        }
        for (int64_t k = 0; k < pl->count; k++) {
            uint32_t t = rd_u16(d, po + 4 + 2 * k);
            pl->chars += t < (uint64_t)nt ? PyUnicode_GET_LENGTH(PyList_GET_ITEM(types, t)) : placeholder_len("type", t);
        }
    }
    /* The exact composed size against a bound linear in the table size. */
    for (Py_ssize_t i = 0; i < count && size <= limit; i++) {
        uint32_t ret = rd_u32(d, off + 12 * (int64_t)i + 4);
        size += lists[row_list[i]].chars;
        size += ret < (uint64_t)nt ? PyUnicode_GET_LENGTH(PyList_GET_ITEM(types, ret)) : placeholder_len("type", ret);
    }
    short_form = size > limit;
    /* Pass 2: compose. */
    for (size_t k = 0; k < nlists; k++) {
        lists[k].text = param_text(d, &lists[k], types, short_form);
        if (lists[k].text == NULL) {
            goto done;
        }
    }
    out = PyList_New(count);
    if (out == NULL) {
        goto done;
    }
    if (short_form) {
        /* The shortened return types, made once per type used. */
        rets = PyList_New(nt);
        if (rets == NULL) {
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        uint32_t ret = rd_u32(d, off + 12 * (int64_t)i + 4);
        PyObject *r;
        int bad = 0;
        if (ret < (uint64_t)nt && short_form) {
            r = PyList_GET_ITEM(rets, ret);
            if (r == NULL) {
                r = shorten(PyList_GET_ITEM(types, ret));
                if (r == NULL) {
                    goto done;
                }
                PyList_SET_ITEM(rets, ret, r);
            }
            Py_INCREF(r);
        }
        else {
            r = pick(types, ret, "type", &bad);
            if (r == NULL) {
                goto done;
            }
        }
        PyObject *parts[4] = {s_open, lists[row_list[i]].text, s_close, r};
        PyObject *s = concat(parts, 4);
        Py_DECREF(r);
        if (s == NULL) {
            goto done;
        }
        PyList_SET_ITEM(out, i, s);
    }
    result = Py_BuildValue("(OnO)", out, bad_lists, short_form ? Py_True : Py_False);

done:
    Py_XDECREF(out);
    Py_XDECREF(rets); /* NULL slots are skipped */
    if (lists != NULL) {
        for (size_t k = 0; k < nlists; k++) {
            Py_XDECREF(lists[k].text);
        }
    }
    PyMem_Free(lists);
    PyMem_Free(row_list);
    ht_free(&seen);
    return result;
}

/* ------------------------------------------------------------------ compose */

PyDoc_STRVAR(compose_doc,
"compose(raw, types, strings, third, method) -> (names, bad)\n\n"
"Field names f'{types[c]}->{strings[s]}:{third[t]}' (third is the type table) or, when\n"
"method is true, method names f'{types[c]}->{strings[s]}{third[p]}' (third is the proto\n"
"table), one per 8-byte row u2 c, u2 t/p, u4 s of raw; out-of-range indices become\n"
"placeholders and set bad.");

static PyObject *
compose(PyObject *self, PyObject *args)
{
    PyObject *raw_obj, *types, *strings, *third;
    int method;
    if (!PyArg_ParseTuple(args, "O!O!O!O!p:compose", &PyBytes_Type, &raw_obj, &PyList_Type, &types, &PyList_Type,
                          &strings, &PyList_Type, &third, &method)) {
        return NULL;
    }
    if (all_str(types, "types") < 0 || all_str(strings, "strings") < 0 || all_str(third, "third") < 0) {
        return NULL;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(raw_obj);
    Py_ssize_t size = PyBytes_GET_SIZE(raw_obj);
    if (size % 8) {
        PyErr_SetString(PyExc_ValueError, "raw must hold 8-byte rows");
        return NULL;
    }
    Py_ssize_t count = size / 8;
    const char *third_what = method ? "proto" : "type";
    PyObject *out = PyList_New(count);
    if (out == NULL) {
        return NULL;
    }
    int bad = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t p = 8 * (int64_t)i;
        PyObject *a = pick(types, rd_u16(d, p), "type", &bad);
        PyObject *b = a ? pick(strings, rd_u32(d, p + 4), "string", &bad) : NULL;
        PyObject *c = b ? pick(third, rd_u16(d, p + 2), third_what, &bad) : NULL;
        PyObject *s = NULL;
        if (c != NULL) {
            if (method) {
                PyObject *parts[4] = {a, s_arrow, b, c};
                s = concat(parts, 4);
            }
            else {
                PyObject *parts[5] = {a, s_arrow, b, s_colon, c};
                s = concat(parts, 5);
            }
        }
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(c);
        if (s == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, s);
    }
    return Py_BuildValue("(NO)", out, bad ? Py_True : Py_False);
}

/* ------------------------------------------------------------------ names_too_large */

static inline uint64_t
add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t
mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* The longest str of a list (0 when empty); -1 with TypeError when an item is not str. */
static int
max_len(PyObject *list, const char *name, uint64_t *out)
{
    if (all_str(list, name) < 0) {
        return -1;
    }
    uint64_t m = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        uint64_t l = (uint64_t)PyUnicode_GET_LENGTH(PyList_GET_ITEM(list, i));
        if (l > m) {
            m = l;
        }
    }
    *out = m;
    return 0;
}

PyDoc_STRVAR(names_too_large_doc,
"names_too_large(types, strings, protos, fields, methods) -> bool\n\n"
"dex._names_too_large (fields and methods are the raw id tables).");

static PyObject *
names_too_large(PyObject *self, PyObject *args)
{
    PyObject *types, *strings, *protos_list, *fields_obj, *methods_obj;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!:names_too_large", &PyList_Type, &types, &PyList_Type, &strings,
                          &PyList_Type, &protos_list, &PyBytes_Type, &fields_obj, &PyBytes_Type, &methods_obj)) {
        return NULL;
    }
    uint64_t lt, lp, ls;
    if (max_len(types, "types", &lt) < 0 || max_len(protos_list, "protos", &lp) < 0 ||
        max_len(strings, "strings", &ls) < 0) {
        return NULL;
    }
    Py_ssize_t fsize = PyBytes_GET_SIZE(fields_obj), msize = PyBytes_GET_SIZE(methods_obj);
    uint64_t nf = (uint64_t)fsize / 8, nm = (uint64_t)msize / 8;
    uint64_t limit = 64 * ((uint64_t)fsize + (uint64_t)msize) + ((uint64_t)1 << 24);
    /* bound = nf * (2 * lt + ls + 3) + nm * (lt + ls + lp + 2), saturated (only its
     * comparison with limit matters) */
#define BOUND() \
    add_sat(mul_sat(nf, add_sat(add_sat(mul_sat(2, lt), ls), 3)), \
            mul_sat(nm, add_sat(add_sat(add_sat(lt, ls), lp), 2)))
    if (BOUND() <= limit) {
        Py_RETURN_FALSE;
    }
    /* The longest string actually used as a name (the u4 at +4 of each row); kept as
     * the longest of all strings when some name index is out of range. */
    uint64_t used = 0;
    Py_ssize_t ns = PyList_GET_SIZE(strings);
    PyObject *tables[2] = {fields_obj, methods_obj};
    int in_range = 1;
    for (int k = 0; k < 2 && in_range; k++) {
        const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(tables[k]);
        Py_ssize_t rows = PyBytes_GET_SIZE(tables[k]) / 8;
        for (Py_ssize_t i = 0; i < rows; i++) {
            uint32_t idx = rd_u32(d, 8 * (int64_t)i + 4);
            if (idx >= (uint64_t)ns) {
                in_range = 0;
                break;
            }
            uint64_t l = (uint64_t)PyUnicode_GET_LENGTH(PyList_GET_ITEM(strings, idx));
            if (l > used) {
                used = l;
            }
        }
    }
    if (in_range) {
        ls = used;
    }
    if (BOUND() > limit) {
        Py_RETURN_TRUE;
    }
#undef BOUND
    Py_RETURN_FALSE;
}

/* ------------------------------------------------------------------ class data and code */

/* Opcode table: width in bytes (> 0), or a kind (<= 0) as WALK_TABLE in dex.py. */
enum { K_NOP = 0, K_INVOKE = -1, K_STRING = -2, K_STRING_JUMBO = -3, K_POLY = -4, K_FIELD = -5 };
static int8_t walk_table[256];

static void
set_units(int first, int last, int units)
{
    for (int op = first; op <= last; op++) {
        walk_table[op] = (int8_t)(2 * units);
    }
}

static void
init_walk_table(void)
{
    /* Widths in code units, from the "Summary of bytecode set" of the Dalvik bytecode
     * documentation; everything not listed is one unit wide. */
    set_units(0x00, 0xFF, 1);
    set_units(0x02, 0x02, 2); /* move/from16 22x */
    set_units(0x03, 0x03, 3); /* move/16 32x */
    set_units(0x05, 0x05, 2); /* move-wide/from16 */
    set_units(0x06, 0x06, 3); /* move-wide/16 */
    set_units(0x08, 0x08, 2); /* move-object/from16 */
    set_units(0x09, 0x09, 3); /* move-object/16 */
    set_units(0x13, 0x13, 2); /* const/16 21s */
    set_units(0x14, 0x14, 3); /* const 31i */
    set_units(0x15, 0x16, 2); /* const/high16, const-wide/16 */
    set_units(0x17, 0x17, 3); /* const-wide/32 */
    set_units(0x18, 0x18, 5); /* const-wide 51l */
    set_units(0x19, 0x1A, 2); /* const-wide/high16, const-string 21c */
    set_units(0x1B, 0x1B, 3); /* const-string/jumbo 31c */
    set_units(0x1C, 0x1C, 2); /* const-class 21c */
    set_units(0x1F, 0x20, 2); /* check-cast, instance-of */
    set_units(0x22, 0x23, 2); /* new-instance, new-array */
    set_units(0x24, 0x26, 3); /* filled-new-array(/range), fill-array-data */
    set_units(0x29, 0x29, 2); /* goto/16 */
    set_units(0x2A, 0x2C, 3); /* goto/32, packed-switch, sparse-switch */
    set_units(0x2D, 0x3D, 2); /* cmpkind, if-test, if-testz */
    set_units(0x44, 0x6D, 2); /* aget/aput, iget/iput, sget/sput */
    set_units(0x6E, 0x72, 3); /* invoke-kind 35c */
    set_units(0x74, 0x78, 3); /* invoke-kind/range 3rc */
    set_units(0x90, 0xAF, 2); /* binop 23x */
    set_units(0xD0, 0xE2, 2); /* binop/lit16, binop/lit8 */
    set_units(0xFA, 0xFB, 4); /* invoke-polymorphic(/range) 45cc/4rcc */
    set_units(0xFC, 0xFD, 3); /* invoke-custom(/range): a call site, not a method */
    set_units(0xFE, 0xFF, 2); /* const-method-handle, const-method-type */
    walk_table[0x00] = K_NOP;
    for (int op = 0x6E; op <= 0x72; op++) {
        walk_table[op] = K_INVOKE;
    }
    for (int op = 0x74; op <= 0x78; op++) {
        walk_table[op] = K_INVOKE;
    }
    walk_table[0x1A] = K_STRING;
    walk_table[0x62] = K_FIELD; /* sget-object 21c: field index in unit 1 (content URIs, Build.SERIAL) */
    walk_table[0x54] = K_FIELD; /* iget-object 22c: field index in unit 1; kept for the classes in the mask */
    walk_table[0x1B] = K_STRING_JUMBO;
    walk_table[0xFA] = K_POLY;
    walk_table[0xFB] = K_POLY;
}

/* One ULEB128 (at most five bytes, 35 bits) at *pp. On success stores the value,
 * advances *pp and returns 0. At the end of the data returns -1 with *pp left where
 * dex.py leaves its position when it raises IndexError: unchanged when the first byte
 * is missing, one past the first byte when a later one is. */
static inline int
uleb(const uint8_t *d, int64_t n, int64_t *pp, uint64_t *out)
{
    int64_t p = *pp;
    if (p >= n) {
        return -1;
    }
    uint64_t v = d[p++];
    if (v > 0x7F) {
        *pp = p;
        v &= 0x7F;
        int shift = 7;
        for (;;) {
            if (p >= n) {
                return -1;
            }
            uint64_t b = d[p++];
            v |= (b & 0x7F) << shift;
            if (b < 0x80 || shift == 28) {
                break;
            }
            shift += 7;
        }
    }
    *pp = p;
    *out = v;
    return 0;
}

enum {
    C_CD_OVERLAP,
    C_SHARED_CD,
    C_BAD_CD,
    C_BAD_CALLERS,
    C_CODE_OVERLAP,
    C_BAD_CODE,
    C_SHARED,
    C_OVER_BUDGET,
    C_BAD_REFS,
    N_COUNTS
};

typedef struct {
    /* inputs */
    const uint8_t *d;
    int64_t n;
    int64_t cd_table;   /* class_defs offset */
    int64_t n_classes;
    uint64_t n_methods;
    uint64_t n_strings;
    uint64_t n_fields;
    int64_t field_ids;       /* field_ids offset (iget-object: the field's class) */
    const uint8_t *type_mask; /* per type id: nonzero = its instance-field reads are kept */
    int64_t n_mask;
    /* outputs */
    vec64 calls; /* (caller << 32 | callee) after dedup and filtering */
    vec64 strs;
    vec64 flds; /* (reader << 32 | field) of sget-object, and iget-object of masked classes */
    int64_t counts[N_COUNTS];
} walk_job;

#define MIDX_CAP ((uint64_t)1 << 40) /* past any method count: saturate there */

/* dex._code_owners: entries[] are the distinct code offsets in first-seen order,
 * owners[starts[e]:starts[e + 1]] their method indices in order. */
static int
code_owners(walk_job *job, vec64 *entries, uint32_t **owners_out, size_t **starts_out)
{
    const uint8_t *d = job->d;
    const int64_t n = job->n;
    const uint64_t nm = job->n_methods;
    int rc = -1;
    htab seen = {0}, by_code = {0};
    vec64 pairs = {0}; /* entry << 32 | method index, in reading order */
    uint8_t *with_code = NULL;
    uint32_t *owners = NULL;
    size_t *starts = NULL;
    int64_t budget = 2 * n + (1 << 16);
    size_t ne;

    if (ht_init(&seen, (size_t)job->n_classes) < 0 || ht_init(&by_code, 64) < 0) {
        goto done;
    }
    with_code = (uint8_t *)PyMem_RawCalloc((size_t)(nm / 8 + 1), 1);
    if (with_code == NULL) {
        goto done;
    }
    for (int64_t c = 0; c < job->n_classes; c++) {
        if (budget < 0) {
            job->counts[C_CD_OVERLAP] = 1;
            break;
        }
        int64_t cd = rd_u32(d, job->cd_table + 32 * c + 24);
        if (cd == 0) {
            continue;
        }
        int r = ht_get_or_add(&seen, (uint64_t)cd, 0, NULL);
        if (r < 0) {
            goto done;
        }
        if (r == 1) {
            job->counts[C_SHARED_CD]++;
            continue;
        }
        if (cd < HEADER_SIZE || cd >= n) {
            job->counts[C_BAD_CD]++;
            continue;
        }
        int64_t p = cd;
        uint64_t counts[4];
        uint64_t need;
        for (int k = 0; k < 4; k++) {
            if (uleb(d, n, &p, &counts[k]) < 0) {
                goto unreadable;
            }
        }
        /* Skip the encoded fields: 2 ULEB128s each, each ending with a byte < 0x80, in
         * chunks exactly as dex.py does (its position on failure matters). */
        need = 2 * (counts[0] + counts[1]);
        if (need > (uint64_t)(n - p)) {
            job->counts[C_BAD_CD]++;
            continue; /* not charged to the budget, as in dex.py */
        }
        while (need) {
            if (need > (uint64_t)(n - p)) {
                goto unreadable;
            }
            uint64_t high = 0;
            for (int64_t q = p, e = p + (int64_t)need; q < e; q++) {
                high += d[q] >> 7;
            }
            p += (int64_t)need;
            need = high;
        }
        for (int g = 2; g < 4; g++) {
            uint64_t size = counts[g];
            if (3 * size > (uint64_t)(n - p)) {
                goto unreadable;
            }
            uint64_t midx = 0;
            for (uint64_t k = 0; k < size; k++) {
                uint64_t v, flags, code_off;
                if (uleb(d, n, &p, &v) < 0) { /* method_idx_diff */
                    goto unreadable;
                }
                midx += v;
                if (midx > MIDX_CAP) {
                    midx = MIDX_CAP;
                }
                if (uleb(d, n, &p, &flags) < 0 || uleb(d, n, &p, &code_off) < 0) {
                    goto unreadable;
                }
                if (code_off == 0) {
                    continue;
                }
                if (midx >= nm || (with_code[midx >> 3] >> (midx & 7)) & 1) {
                    job->counts[C_BAD_CALLERS]++;
                    continue;
                }
                with_code[midx >> 3] |= (uint8_t)(1u << (midx & 7));
                uint32_t entry;
                r = ht_get_or_add(&by_code, code_off, (uint32_t)entries->len, &entry);
                if (r < 0) {
                    goto done;
                }
                if (r == 0 && vec_push(entries, code_off) < 0) {
                    goto done;
                }
                if (vec_push(&pairs, (uint64_t)entry << 32 | midx) < 0) {
                    goto done;
                }
            }
        }
        goto charged;
    unreadable:
        job->counts[C_BAD_CD]++;
    charged:
        budget -= p - cd;
    }
    /* Group the method indices by code entry, keeping their order (counting sort). */
    ne = entries->len;
    starts = (size_t *)PyMem_RawCalloc(ne + 1, sizeof(size_t));
    owners = (uint32_t *)PyMem_RawMalloc((pairs.len + 1) * sizeof(uint32_t));
    if (starts == NULL || owners == NULL) {
        goto done;
    }
    for (size_t i = 0; i < pairs.len; i++) {
        starts[(pairs.v[i] >> 32) + 1]++;
    }
    for (size_t e = 0; e < ne; e++) {
        starts[e + 1] += starts[e];
    }
    {
        size_t *fill = (size_t *)PyMem_RawMalloc((ne + 1) * sizeof(size_t));
        if (fill == NULL) {
            goto done;
        }
        memcpy(fill, starts, (ne + 1) * sizeof(size_t));
        for (size_t i = 0; i < pairs.len; i++) {
            owners[fill[pairs.v[i] >> 32]++] = (uint32_t)pairs.v[i];
        }
        PyMem_RawFree(fill);
    }
    *owners_out = owners;
    *starts_out = starts;
    owners = NULL;
    starts = NULL;
    rc = 0;
done:
    ht_free(&seen);
    ht_free(&by_code);
    vec_free(&pairs);
    PyMem_RawFree(with_code);
    PyMem_RawFree(owners);
    PyMem_RawFree(starts);
    return rc;
}

/* Append (caller, u16 operand after each position) for one caller. */
static int
emit_operands(vec64 *out, uint64_t caller, const vec64 *positions, const uint8_t *d)
{
    if (vec_reserve(out, positions->len) < 0) {
        return -1;
    }
    for (size_t i = 0; i < positions->len; i++) {
        out->v[out->len++] = caller << 32 | rd_u16(d, (int64_t)positions->v[i] + 2);
    }
    return 0;
}

static int
emit_values(vec64 *out, uint64_t caller, const vec64 *values)
{
    if (vec_reserve(out, values->len) < 0) {
        return -1;
    }
    for (size_t i = 0; i < values->len; i++) {
        out->v[out->len++] = caller << 32 | values->v[i];
    }
    return 0;
}

/* dict.fromkeys(regular) then .update(direct), then drop the pairs whose second member
 * is >= limit: the first occurrences in order, and how many distinct pairs were dropped. */
static int
dedup(vec64 *out, const vec64 *regular, const vec64 *direct, uint64_t limit, int64_t *dropped)
{
    htab set = {0};
    /* Sized for the distinct pairs, which can be far fewer than all of them (copies for
     * shared code): start small and let it grow. */
    size_t total = regular->len + direct->len;
    if (ht_init(&set, total < ((size_t)1 << 16) ? total : ((size_t)1 << 16)) < 0) {
        return -1;
    }
    const vec64 *parts[2] = {regular, direct};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < parts[k]->len; i++) {
            uint64_t key = parts[k]->v[i];
            int r = ht_get_or_add(&set, key, 0, NULL);
            if (r < 0) {
                ht_free(&set);
                return -1;
            }
            if (r == 1) {
                continue;
            }
            if ((key & 0xFFFFFFFFu) >= limit) {
                (*dropped)++;
            }
            else if (vec_push(out, key) < 0) {
                ht_free(&set);
                return -1;
            }
        }
    }
    ht_free(&set);
    return 0;
}

/* dex._keep_field_reads: the iget-object positions of one code item are kept only when the
 * field's class is in the type mask (the platform's classes: ScanResult.BSSID ...); the
 * sget-object positions are all kept. */
static void
keep_field_reads(vec64 *fld, const walk_job *job)
{
    const uint8_t *d = job->d;
    size_t k = 0;
    for (size_t i = 0; i < fld->len; i++) {
        int64_t p = (int64_t)fld->v[i];
        if (d[p] == 0x54) {
            uint64_t f = rd_u16(d, p + 2);
            int64_t at = job->field_ids + 8 * (int64_t)f;
            if (f >= job->n_fields || at < 0 || at + 2 > job->n) {
                continue;
            }
            uint64_t c = rd_u16(d, at);
            if (c >= (uint64_t)job->n_mask || !job->type_mask[c]) {
                continue;
            }
        }
        fld->v[k++] = fld->v[i];
    }
    fld->len = k;
}

/* dex._code_owners then dex._walk_code; runs without the GIL. 0, or -1 on no memory. */
static int
walk(walk_job *job)
{
    const uint8_t *d = job->d;
    const int64_t n = job->n;
    int rc = -1;
    vec64 entries = {0};
    uint32_t *owners = NULL;
    size_t *starts = NULL;
    vec64 inv = {0}, cst = {0}, jmb = {0}, fld = {0};
    vec64 reg_calls = {0}, reg_strs = {0}, dir_calls = {0}, dir_strs = {0}, reg_flds = {0}, dir_flds = {0};
    int64_t share_budget = 4 * n > (1 << 16) ? 4 * n : (1 << 16);
    int64_t walk_budget = 2 * n + (1 << 16);

    if (code_owners(job, &entries, &owners, &starts) < 0) {
        goto done;
    }
    for (size_t ent = 0; ent < entries.len; ent++) {
        uint64_t code_off = entries.v[ent];
        if (code_off < HEADER_SIZE || code_off + 16 > (uint64_t)n) {
            job->counts[C_BAD_CODE]++;
            continue;
        }
        int64_t j = (int64_t)code_off + 16;
        int64_t e = j + 2 * (int64_t)rd_u32(d, (int64_t)code_off + 12);
        if (e > n) {
            job->counts[C_BAD_CODE]++;
            e = n - ((n - j) & 1);
        }
        walk_budget -= e - j;
        if (walk_budget < 0) {
            job->counts[C_CODE_OVERLAP] = 1;
            break;
        }
        inv.len = cst.len = jmb.len = fld.len = 0;
        /* ---- the hot loop: one table lookup per instruction */
        while (j < e) {
            int w = walk_table[d[j]];
            if (w > 0) {
                j += w;
                continue;
            }
            if (w == K_INVOKE) {
                if (vec_push(&inv, (uint64_t)j) < 0) {
                    goto done;
                }
                j += 6;
            }
            else if (w == K_STRING) {
                if (vec_push(&cst, (uint64_t)j) < 0) {
                    goto done;
                }
                j += 4;
            }
            else if (w == K_FIELD) {
                if (vec_push(&fld, (uint64_t)j) < 0) {
                    goto done;
                }
                j += 4;
            }
            else if (w == K_NOP) { /* nop, or a payload pseudo-instruction */
                uint8_t hi = d[j + 1];
                if (hi == 0 || hi > 3) {
                    j += 2;
                }
                else if (j + 8 > e) {
                    break;
                }
                else if (hi == 1) { /* packed-switch-payload: 4 + size * 2 units */
                    j += (4 + (int64_t)rd_u16(d, j + 2) * 2) * 2;
                }
                else if (hi == 2) { /* sparse-switch-payload: 2 + size * 4 units */
                    j += (2 + (int64_t)rd_u16(d, j + 2) * 4) * 2;
                }
                else { /* fill-array-data-payload: 4 + (width * size + 1) / 2 units */
                    uint64_t cells = (uint64_t)rd_u16(d, j + 2) * (uint64_t)rd_u32(d, j + 4); /* < 2^48 */
                    j += (int64_t)(4 + (cells + 1) / 2) * 2;
                }
            }
            else if (w == K_STRING_JUMBO) {
                if (j + 6 <= e && vec_push(&jmb, rd_u32(d, j + 2)) < 0) {
                    goto done;
                }
                j += 6;
            }
            else { /* invoke-polymorphic(/range) */
                if (j + 8 > e) {
                    break;
                }
                if (vec_push(&inv, (uint64_t)j) < 0) {
                    goto done;
                }
                j += 8;
            }
        }
        if (j > e) { /* the last instruction runs past the end of the code */
            if (inv.len && (int64_t)inv.v[inv.len - 1] + 6 > e) {
                inv.len--;
            }
            if (cst.len && (int64_t)cst.v[cst.len - 1] + 4 > e) {
                cst.len--;
            }
            if (fld.len && (int64_t)fld.v[fld.len - 1] + 4 > e) {
                fld.len--;
            }
        }
        if (fld.len) {
            keep_field_reads(&fld, job);
        }
        if (!(inv.len || cst.len || jmb.len || fld.len)) {
            continue;
        }
        const uint32_t *own = owners + starts[ent];
        size_t n_own = starts[ent + 1] - starts[ent];
        size_t targets = n_own;
        if (n_own > 1) {
            job->counts[C_SHARED] += (int64_t)(n_own - 1);
            if (share_budget >= 0) {
                share_budget -= (int64_t)(n_own - 1) * (int64_t)(inv.len + cst.len + jmb.len + fld.len + 1);
            }
            else {
                share_budget = -1; /* stays negative, as in dex.py; no overflow */
            }
            if (share_budget < 0) {
                job->counts[C_OVER_BUDGET] = 1;
                targets = 1;
            }
        }
        if (code_off & 1) { /* misaligned (hostile) */
            for (size_t t = 0; t < targets; t++) {
                if (emit_values(&dir_strs, own[t], &jmb) < 0 || emit_operands(&dir_calls, own[t], &inv, d) < 0 ||
                    emit_operands(&dir_strs, own[t], &cst, d) < 0 || emit_operands(&dir_flds, own[t], &fld, d) < 0) {
                    goto done;
                }
            }
            continue;
        }
        for (size_t t = 0; t < targets; t++) {
            if (emit_values(&dir_strs, own[t], &jmb) < 0) {
                goto done;
            }
        }
        for (size_t t = 0; t < targets; t++) {
            if (emit_operands(&reg_calls, own[t], &inv, d) < 0 || emit_operands(&reg_strs, own[t], &cst, d) < 0 ||
                emit_operands(&reg_flds, own[t], &fld, d) < 0) {
                goto done;
            }
        }
    }
    if (dedup(&job->calls, &reg_calls, &dir_calls, job->n_methods, &job->counts[C_BAD_REFS]) < 0) {
        goto done;
    }
    vec_free(&reg_calls);
    vec_free(&dir_calls);
    if (dedup(&job->strs, &reg_strs, &dir_strs, job->n_strings, &job->counts[C_BAD_REFS]) < 0) {
        goto done;
    }
    vec_free(&reg_strs);
    vec_free(&dir_strs);
    if (dedup(&job->flds, &reg_flds, &dir_flds, job->n_fields, &job->counts[C_BAD_REFS]) < 0) {
        goto done;
    }
    rc = 0;
done:
    vec_free(&entries);
    PyMem_RawFree(owners);
    PyMem_RawFree(starts);
    vec_free(&inv);
    vec_free(&cst);
    vec_free(&jmb);
    vec_free(&fld);
    vec_free(&reg_flds);
    vec_free(&dir_flds);
    vec_free(&reg_calls);
    vec_free(&reg_strs);
    vec_free(&dir_calls);
    vec_free(&dir_strs);
    return rc;
}

/* The pairs as a bytes object of native-order uint32: first0, second0, first1 ... */
static PyObject *
pairs_bytes(const vec64 *pairs)
{
    if (pairs->len > (size_t)PY_SSIZE_T_MAX / 8) {
        return PyErr_NoMemory();
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(pairs->len * 8));
    if (out == NULL) {
        return NULL;
    }
    uint32_t *o = (uint32_t *)PyBytes_AS_STRING(out);
    for (size_t i = 0; i < pairs->len; i++) {
        o[2 * i] = (uint32_t)(pairs->v[i] >> 32);
        o[2 * i + 1] = (uint32_t)pairs->v[i];
    }
    return out;
}

PyDoc_STRVAR(walk_code_doc,
"walk_code(data, class_defs_off, class_defs_count, n_methods, n_strings, n_fields,\n"
"          field_ids_off=0, type_mask=b'')\n"
"    -> (calls, const_strings, field_reads, counts)\n\n"
"dex._code_owners then dex._walk_code: the call edges, const-string uses and object-field\n"
"reads (every sget-object; iget-object of the classes whose type id is set in type_mask) as bytes of\n"
"native uint32 pairs, and the nine counters dex._code_notes writes notes from.");

static PyObject *walk_code_with(PyObject *data_obj, Py_ssize_t cd_off, Py_ssize_t nc, Py_ssize_t nm, Py_ssize_t ns,
                                Py_ssize_t nf, Py_ssize_t fid_off, const Py_buffer *mask);

static PyObject *
walk_code(PyObject *self, PyObject *args)
{
    PyObject *data_obj;
    Py_ssize_t cd_off, nc, nm, ns, nf, fid_off = 0;
    Py_buffer mask = {0};
    if (!PyArg_ParseTuple(args, "O!nnnnn|ny*:walk_code", &PyBytes_Type, &data_obj, &cd_off, &nc, &nm, &ns, &nf,
                          &fid_off, &mask)) {
        return NULL;
    }
    PyObject *result = walk_code_with(data_obj, cd_off, nc, nm, ns, nf, fid_off, &mask);
    if (mask.obj != NULL) {
        PyBuffer_Release(&mask);
    }
    return result;
}

static PyObject *
walk_code_with(PyObject *data_obj, Py_ssize_t cd_off, Py_ssize_t nc, Py_ssize_t nm, Py_ssize_t ns, Py_ssize_t nf,
               Py_ssize_t fid_off, const Py_buffer *mask)
{
    if (!table_fits(PyBytes_GET_SIZE(data_obj), cd_off, nc, 32)) {
        return NULL;
    }
    if (nm < 0 || ns < 0 || nf < 0 || (uint64_t)nm > UINT32_MAX || (uint64_t)ns > UINT32_MAX ||
        (uint64_t)nf > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "table sizes out of range");
        return NULL;
    }
    walk_job job;
    memset(&job, 0, sizeof(job));
    job.d = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    job.n = (int64_t)PyBytes_GET_SIZE(data_obj);
    job.cd_table = cd_off;
    job.n_classes = nc;
    job.n_methods = (uint64_t)nm;
    job.n_strings = (uint64_t)ns;
    job.n_fields = (uint64_t)nf;
    job.field_ids = fid_off;
    job.type_mask = mask->obj != NULL ? (const uint8_t *)mask->buf : NULL;
    job.n_mask = mask->obj != NULL ? (int64_t)mask->len : 0;
    int rc;
    /* data is an immutable bytes object we hold a reference to: safe without the GIL. */
    Py_BEGIN_ALLOW_THREADS
    rc = walk(&job);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (rc < 0) {
        PyErr_NoMemory();
    }
    else {
        PyObject *calls = pairs_bytes(&job.calls);
        PyObject *strs = calls ? pairs_bytes(&job.strs) : NULL;
        PyObject *flds = strs ? pairs_bytes(&job.flds) : NULL;
        if (flds != NULL) {
            const int64_t *c = job.counts;
            result = Py_BuildValue("(NNN(LLLLLLLLL))", calls, strs, flds, (long long)c[0], (long long)c[1],
                                   (long long)c[2], (long long)c[3], (long long)c[4], (long long)c[5], (long long)c[6],
                                   (long long)c[7], (long long)c[8]);
        }
        else {
            Py_XDECREF(calls);
            Py_XDECREF(strs);
        }
    }
    vec_free(&job.calls);
    vec_free(&job.strs);
    vec_free(&job.flds);
    return result;
}

PyDoc_STRVAR(prefix_mask_doc,
"prefix_mask(names, prefixes) -> bytes\n\n"
"One byte per name: 1 when it starts with one of the prefixes (dex._prefix_mask).");

static PyObject *
prefix_mask(PyObject *self, PyObject *args)
{
    PyObject *names, *prefixes;
    if (!PyArg_ParseTuple(args, "O!O!:prefix_mask", &PyList_Type, &names, &PyTuple_Type, &prefixes)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(names), np = PyTuple_GET_SIZE(prefixes);
    for (Py_ssize_t k = 0; k < np; k++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(prefixes, k))) {
            PyErr_SetString(PyExc_TypeError, "prefixes must be str");
            return NULL;
        }
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL) {
        return NULL;
    }
    char *o = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyList_GET_ITEM(names, i);
        o[i] = 0;
        if (!PyUnicode_Check(name)) {
            continue;
        }
        for (Py_ssize_t k = 0; k < np; k++) {
            Py_ssize_t hit = PyUnicode_Tailmatch(name, PyTuple_GET_ITEM(prefixes, k), 0, PY_SSIZE_T_MAX, -1);
            if (hit < 0) {
                Py_DECREF(out);
                return NULL;
            }
            if (hit) {
                o[i] = 1;
                break;
            }
        }
    }
    return out;
}

PyDoc_STRVAR(select_pairs_doc,
"select_pairs(flat, mask, second) -> bytes\n\n"
"Of the native uint32 pairs in flat, those whose second (else first) value v has\n"
"mask[v] set (values past the mask are not), as native uint32 pairs (dex.pairs_where).");

static PyObject *
select_pairs(PyObject *self, PyObject *args)
{
    Py_buffer flat = {0}, mask = {0};
    int second;
    if (!PyArg_ParseTuple(args, "y*y*p:select_pairs", &flat, &mask, &second)) {
        return NULL;
    }
    PyObject *out = NULL;
    if (flat.len % 8) {
        PyErr_SetString(PyExc_ValueError, "select_pairs: not whole uint32 pairs");
        goto done;
    }
    const char *src = (const char *)flat.buf;
    const uint8_t *m = (const uint8_t *)mask.buf;
    Py_ssize_t pairs = flat.len / 8, kept = 0, side = second ? 4 : 0;
    for (Py_ssize_t i = 0; i < pairs; i++) {
        uint32_t x;
        memcpy(&x, src + 8 * i + side, 4);
        kept += (Py_ssize_t)x < mask.len && m[x];
    }
    out = PyBytes_FromStringAndSize(NULL, kept * 8);
    if (out == NULL) {
        goto done;
    }
    char *o = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < pairs; i++) {
        uint32_t x;
        memcpy(&x, src + 8 * i + side, 4);
        if ((Py_ssize_t)x < mask.len && m[x]) {
            memcpy(o, src + 8 * i, 8);
            o += 8;
        }
    }
done:
    PyBuffer_Release(&flat);
    PyBuffer_Release(&mask);
    return out;
}

/* ------------------------------------------------------------------ module */

static PyMethodDef dexfast_methods[] = {
    {"read_strings", read_strings, METH_VARARGS, read_strings_doc},
    {"pick", pick_names, METH_VARARGS, pick_doc},
    {"protos", protos, METH_VARARGS, protos_doc},
    {"compose", compose, METH_VARARGS, compose_doc},
    {"names_too_large", names_too_large, METH_VARARGS, names_too_large_doc},
    {"walk_code", walk_code, METH_VARARGS, walk_code_doc},
    {"prefix_mask", prefix_mask, METH_VARARGS, prefix_mask_doc},
    {"select_pairs", select_pairs, METH_VARARGS, select_pairs_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef dexfast_module = {
    PyModuleDef_HEAD_INIT,
    "apkscan.extract._dexfast",
    "The hot parts of apkscan.extract.dex in C (same results as its pure-Python code).",
    -1,
    dexfast_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int
init_seed(void)
{
    PyObject *os = PyImport_ImportModule("os");
    if (os == NULL) {
        return -1;
    }
    PyObject *raw = PyObject_CallMethod(os, "urandom", "n", (Py_ssize_t)8);
    Py_DECREF(os);
    if (raw == NULL) {
        return -1;
    }
    if (PyBytes_Check(raw) && PyBytes_GET_SIZE(raw) == 8) {
        uint64_t seed;
        memcpy(&seed, PyBytes_AS_STRING(raw), 8);
        hash_seed ^= seed;
    }
    Py_DECREF(raw);
    return 0;
}

PyMODINIT_FUNC
PyInit__dexfast(void)
{
    init_walk_table();
    if (s_arrow == NULL) {
        s_arrow = PyUnicode_InternFromString("->");
        s_colon = PyUnicode_InternFromString(":");
        s_open = PyUnicode_InternFromString("(");
        s_close = PyUnicode_InternFromString(")");
        s_ellipsis = PyUnicode_FromOrdinal(0x2026);
        s_empty = PyUnicode_New(0, 0);
        if (!s_arrow || !s_colon || !s_open || !s_close || !s_ellipsis || !s_empty) {
            return NULL;
        }
        if (init_seed() < 0) {
            return NULL;
        }
    }
    return PyModule_Create(&dexfast_module);
}
