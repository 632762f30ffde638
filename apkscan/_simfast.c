/*
 * apkscan._simfast: the per-method and per-call-edge passes of apkscan.similarity's code
 * sketch, which Python would make one method or one edge at a time (a large app has
 * 140,000 methods and 330,000 call edges).
 *
 * Optional: without it, apkscan.similarity computes the same results in Python
 * (_method_flags_py, _shape_sums_py, _api_hashes_py, _own_strings_py, _minhash_py,
 * _file_features_py); tests hold the two equal. It reads Python strings, ints and uint32
 * buffers from the facts, never APK bytes.
 *
 * method_flags(methods, exclude, platform) -> (flags: bytes, platform_indices: list[int])
 *   flags[i] = 2 when methods[i] starts with one of the set `platform`, else 0 when it
 *   starts with one of the set `exclude`, else 1 (the app's own code). Every prefix ends
 *   with '/', '$' or ';'.
 * shape_sums(calls, flags, api_hash) -> (shapes: list[int], called: list[int])
 *   `calls` is the flat uint32 (caller, callee) buffer, `api_hash` a uint64 buffer with
 *   one hash per method (0 for none). For each caller with flags == 1 that calls at least
 *   one method with a non-zero hash, the sum (mod 2**64) of those hashes passed through
 *   splitmix64's finaliser (similarity._mix), in caller order; and the indices of the
 *   methods with a non-zero hash that such callers call, in index order.
 * str_hashes(texts) -> list[int]
 *   similarity._crc_hash of each str (zlib's CRC-32 of the UTF-8, surrogates passed).
 * api_hashes(methods, api, cache) -> bytes
 *   One uint64 per method (native byte order): for the indices in the list `api`, the
 *   crc hash of the method's name (str_hashes), taken from and added to the dict `cache`;
 *   0 for the others.
 * own_strings(const_strings, flags, strings, out) -> None
 *   Adds to the set `out` the strings (of the tuple `strings`) that methods with
 *   flags == 1 load (const_strings: the flat uint32 (method, string index) buffer; an
 *   index past the tuple is skipped).
 * minhash(features, k) -> tuple[int, ...]
 *   similarity.minhash: the one-permutation MinHash of k slots of an iterable of ints in
 *   [0, 2**64), densified; () for no features.
 * file_keys(entries, skip_kinds, library_resources) -> list[int]
 *   similarity.file_features over the archive entries (objects with name, size, kind and
 *   crc): the mixed (crc << 32 | size) of each distinct asset, native library and
 *   resource file that is not empty, not of a kind in skip_kinds and (under res/) not
 *   named with one of the library_resources prefixes; in ascending order of the key.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint32_t crc_table[256];

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t
crc32_of(const unsigned char *p, Py_ssize_t n)
{
    uint32_t c = 0xFFFFFFFFU;
    for (Py_ssize_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFU;
}

/* str_hashes(texts) -> list[int]: similarity._crc_hash of each str of an iterable. */
static PyObject *
str_hashes(PyObject *self, PyObject *arg)
{
    PyObject *it = PyObject_GetIter(arg);
    if (!it)
        return NULL;
    PyObject *result = PyList_New(0), *s;
    if (!result) {
        Py_DECREF(it);
        return NULL;
    }
    while ((s = PyIter_Next(it)) != NULL) {
        if (!PyUnicode_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "str_hashes: items must be str");
            Py_DECREF(s);
            goto fail;
        }
        uint32_t crc;
        if (PyUnicode_IS_ASCII(s)) {
            crc = crc32_of((const unsigned char *)PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s));
        } else {
            PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
            if (!b) {
                Py_DECREF(s);
                goto fail;
            }
            crc = crc32_of((const unsigned char *)PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
            Py_DECREF(b);
        }
        Py_DECREF(s);
        uint64_t h = (uint64_t)crc * 0x9E3779B97F4A7C15ULL;
        PyObject *v = PyLong_FromUnsignedLongLong(h ? h : 1);
        if (!v || PyList_Append(result, v) < 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
fail:
    Py_DECREF(it);
    Py_DECREF(result);
    return NULL;
}

/* 1 when a prefix of s ending at a '/', '$' or ';' at an index in [from, to) of its class
   part (before "->") is in `prefixes` (a set or frozenset of str), 0 when none is, -1 on
   error. Every prefix given ends with one of those characters (similarity._excluded_prefixes),
   so over [1, len) this is s.startswith(tuple(prefixes)) with one set look-up per level. */
static int
prefix_in_range(PyObject *s, PyObject *prefixes, Py_ssize_t from, Py_ssize_t to)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (to > n)
        to = n;
    for (Py_ssize_t i = from < 1 ? 1 : from; i < to; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '-' && i + 1 < n && PyUnicode_READ(kind, data, i + 1) == '>')
            return 0;
        if (c != '/' && c != '$' && c != ';')
            continue;
        PyObject *sub = PyUnicode_Substring(s, 0, i + 1);
        if (!sub)
            return -1;
        int r = PySet_Contains(prefixes, sub);
        Py_DECREF(sub);
        if (r)
            return r;
    }
    return 0;
}

static int
append_index(PyObject *list, Py_ssize_t i)
{
    PyObject *idx = PyLong_FromSsize_t(i);
    if (!idx || PyList_Append(list, idx) < 0) {
        Py_XDECREF(idx);
        return -1;
    }
    Py_DECREF(idx);
    return 0;
}

static PyObject *
method_flags(PyObject *self, PyObject *args)
{
    PyObject *methods, *exclude, *platform;
    if (!PyArg_ParseTuple(args, "O!OO:method_flags", &PyTuple_Type, &methods, &exclude, &platform))
        return NULL;
    if (!PyAnySet_Check(exclude) || !PyAnySet_Check(platform))
        return PyErr_Format(PyExc_TypeError, "method_flags: exclude and platform must be sets");
    Py_ssize_t n = PyTuple_GET_SIZE(methods);
    PyObject *flags = PyBytes_FromStringAndSize(NULL, n);
    PyObject *api = PyList_New(0);
    if (!flags || !api)
        goto fail;
    char *out = PyBytes_AS_STRING(flags);
    /* Methods of one class are contiguous in a dex's method_ids, and classes of one package
       are too: the flag of the previous method is reused while the class part (up to "->")
       of a 1-byte string is the same, and the look-ups of the package levels (up to the
       class part's last '/') while the package is. Only the class's own levels ('$' and
       ';' after that '/') are looked up per class. */
    const char *prev = NULL, *prev_pkg = NULL;
    Py_ssize_t prev_len = -1, prev_pkg_len = -1;
    char prev_flag = 0;
    int pkg_platform = 0, pkg_exclude = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyTuple_GET_ITEM(methods, i);
        if (!PyUnicode_Check(m)) {
            PyErr_Format(PyExc_TypeError, "method_flags: method %zd is not a str", i);
            goto fail;
        }
        if (PyUnicode_KIND(m) != PyUnicode_1BYTE_KIND) {
            int plat = prefix_in_range(m, platform, 1, PY_SSIZE_T_MAX);
            int excl = plat ? 0 : prefix_in_range(m, exclude, 1, PY_SSIZE_T_MAX);
            if (plat < 0 || excl < 0)
                goto fail;
            out[i] = plat ? 2 : excl ? 0 : 1;
            if (plat && append_index(api, i) < 0)
                goto fail;
            prev = NULL;
            prev_len = prev_pkg_len = -1;
            continue;
        }
        const char *cls = (const char *)PyUnicode_DATA(m);
        Py_ssize_t len = PyUnicode_GET_LENGTH(m), cls_len = len, slash = -1;
        for (Py_ssize_t k = 0; k < len; k++) {
            if (cls[k] == '-' && k + 1 < len && cls[k + 1] == '>') {
                cls_len = k;
                break;
            }
            if (cls[k] == '/')
                slash = k;
        }
        if (cls_len == prev_len && prev != NULL && memcmp(cls, prev, (size_t)cls_len) == 0) {
            out[i] = prev_flag;
            if (prev_flag == 2 && append_index(api, i) < 0)
                goto fail;
            continue;
        }
        /* the package levels: indices [1, slash + 1) */
        if (!(slash + 1 == prev_pkg_len && prev_pkg != NULL && memcmp(cls, prev_pkg, (size_t)(slash + 1)) == 0)) {
            pkg_platform = prefix_in_range(m, platform, 1, slash + 1);
            pkg_exclude = pkg_platform ? 0 : prefix_in_range(m, exclude, 1, slash + 1);
            if (pkg_platform < 0 || pkg_exclude < 0)
                goto fail;
            prev_pkg = cls;
            prev_pkg_len = slash + 1;
        }
        int plat = pkg_platform, excl = pkg_exclude;
        if (!plat) {
            plat = prefix_in_range(m, platform, slash + 1, cls_len + 1);
            if (plat < 0)
                goto fail;
        }
        if (!plat && !excl) {
            excl = prefix_in_range(m, exclude, slash + 1, cls_len + 1);
            if (excl < 0)
                goto fail;
        }
        prev = cls;
        prev_len = cls_len;
        out[i] = prev_flag = plat ? 2 : excl ? 0 : 1;
        if (plat && append_index(api, i) < 0)
            goto fail;
    }
    return Py_BuildValue("(NN)", flags, api);
fail:
    Py_XDECREF(flags);
    Py_XDECREF(api);
    return NULL;
}

static PyObject *
shape_sums(PyObject *self, PyObject *args)
{
    Py_buffer calls, flags, hashes;
    if (!PyArg_ParseTuple(args, "y*y*y*:shape_sums", &calls, &flags, &hashes))
        return NULL;
    PyObject *result = NULL;
    uint64_t *sums = NULL;
    unsigned char *seen = NULL;
    Py_ssize_t n = flags.len;
    if (hashes.len != n * 8 || calls.len % 8) {
        PyErr_SetString(PyExc_ValueError, "shape_sums: buffer sizes disagree");
        goto done;
    }
    sums = calloc(n ? n : 1, sizeof(uint64_t));
    seen = calloc(n ? n : 1, 1);
    if (!sums || !seen) {
        PyErr_NoMemory();
        goto done;
    }
    const uint32_t *c = (const uint32_t *)calls.buf;
    const unsigned char *f = (const unsigned char *)flags.buf;
    const uint64_t *h = (const uint64_t *)hashes.buf;
    Py_ssize_t ne = calls.len / 8;
    for (Py_ssize_t k = 0; k < ne; k++) {
        uint32_t caller = c[2 * k], callee = c[2 * k + 1];
        if ((Py_ssize_t)caller >= n || (Py_ssize_t)callee >= n || f[caller] != 1 || h[callee] == 0)
            continue;
        sums[caller] += h[callee];
        seen[caller] |= 1;
        seen[callee] |= 2;
    }
    PyObject *shapes = PyList_New(0), *called = PyList_New(0);
    if (!shapes || !called)
        goto bad;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (seen[i] & 1) {
            PyObject *v = PyLong_FromUnsignedLongLong(mix64(sums[i]));
            if (!v || PyList_Append(shapes, v) < 0) {
                Py_XDECREF(v);
                goto bad;
            }
            Py_DECREF(v);
        }
        if (seen[i] & 2) {
            PyObject *v = PyLong_FromSsize_t(i);
            if (!v || PyList_Append(called, v) < 0) {
                Py_XDECREF(v);
                goto bad;
            }
            Py_DECREF(v);
        }
    }
    result = Py_BuildValue("(NN)", shapes, called);
    goto done;
bad:
    Py_XDECREF(shapes);
    Py_XDECREF(called);
done:
    free(sums);
    free(seen);
    PyBuffer_Release(&calls);
    PyBuffer_Release(&flags);
    PyBuffer_Release(&hashes);
    return result;
}

/* crc hash of one str, as str_hashes gives it (0 never: 1 instead); -1 with an error set */
static int
crc_hash_of(PyObject *s, uint64_t *out)
{
    uint32_t crc;
    if (PyUnicode_IS_ASCII(s)) {
        crc = crc32_of((const unsigned char *)PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s));
    } else {
        PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
        if (!b)
            return -1;
        crc = crc32_of((const unsigned char *)PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
        Py_DECREF(b);
    }
    uint64_t h = (uint64_t)crc * 0x9E3779B97F4A7C15ULL;
    *out = h ? h : 1;
    return 0;
}

/* api_hashes(methods, api, cache) -> bytes: similarity._api_hashes_py. */
static PyObject *
api_hashes(PyObject *self, PyObject *args)
{
    PyObject *methods, *api, *cache;
    if (!PyArg_ParseTuple(args, "O!O!O!:api_hashes", &PyTuple_Type, &methods, &PyList_Type, &api,
                          &PyDict_Type, &cache))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(methods);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 8);
    if (!out)
        return NULL;
    uint64_t *h = (uint64_t *)PyBytes_AS_STRING(out);
    memset(h, 0, (size_t)n * 8);
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(api); k++) {
        Py_ssize_t i = PyLong_AsSsize_t(PyList_GET_ITEM(api, k));
        if (i == -1 && PyErr_Occurred())
            goto fail;
        if (i < 0 || i >= n) {
            PyErr_SetString(PyExc_IndexError, "api_hashes: a method index out of range");
            goto fail;
        }
        PyObject *name = PyTuple_GET_ITEM(methods, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "api_hashes: methods must be str");
            goto fail;
        }
        PyObject *known = PyDict_GetItemWithError(cache, name);
        if (known) {
            h[i] = PyLong_AsUnsignedLongLong(known);
            if (h[i] == (uint64_t)-1 && PyErr_Occurred())
                goto fail;
            continue;
        }
        if (PyErr_Occurred() || crc_hash_of(name, &h[i]) < 0)
            goto fail;
        PyObject *v = PyLong_FromUnsignedLongLong(h[i]);
        if (!v || PyDict_SetItem(cache, name, v) < 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* own_strings(const_strings, flags, strings, out) -> None: similarity._own_strings_py. */
static PyObject *
own_strings(PyObject *self, PyObject *args)
{
    Py_buffer loads, flags;
    PyObject *strings, *out;
    if (!PyArg_ParseTuple(args, "y*y*O!O!:own_strings", &loads, &flags, &PyTuple_Type, &strings,
                          &PySet_Type, &out))
        return NULL;
    PyObject *result = NULL;
    if (loads.len % 8) {
        PyErr_SetString(PyExc_ValueError, "own_strings: odd buffer size");
        goto done;
    }
    const uint32_t *c = (const uint32_t *)loads.buf;
    const unsigned char *f = (const unsigned char *)flags.buf;
    Py_ssize_t n = flags.len, ne = loads.len / 8, ns = PyTuple_GET_SIZE(strings);
    for (Py_ssize_t k = 0; k < ne; k++) {
        uint32_t m = c[2 * k], s = c[2 * k + 1];
        if ((Py_ssize_t)m >= n || f[m] != 1 || (Py_ssize_t)s >= ns)
            continue;
        if (PySet_Add(out, PyTuple_GET_ITEM(strings, s)) < 0)
            goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&loads);
    PyBuffer_Release(&flags);
    return result;
}

/* minhash(features, k) -> tuple: similarity.minhash. */
static PyObject *
minhash(PyObject *self, PyObject *args)
{
    PyObject *features;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "On:minhash", &features, &k))
        return NULL;
    if (k <= 0 || k > 4096)
        return PyErr_Format(PyExc_ValueError, "minhash: k must be 1 to 4096");
    uint64_t *slots = PyMem_Malloc(sizeof(uint64_t) * (size_t)k);
    if (!slots)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < k; i++)
        slots[i] = UINT64_MAX;
    PyObject *it = PyObject_GetIter(features), *v;
    int seen = 0;
    if (!it)
        goto fail;
    while ((v = PyIter_Next(it)) != NULL) {
        uint64_t h = PyLong_AsUnsignedLongLong(v);
        Py_DECREF(v);
        if (h == (uint64_t)-1 && PyErr_Occurred()) {
            Py_DECREF(it);
            goto fail;
        }
        Py_ssize_t slot = (Py_ssize_t)(h % (uint64_t)k);
        if (h < slots[slot])
            slots[slot] = h;
        seen = 1;
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        goto fail;
    if (!seen) {
        PyMem_Free(slots);
        return PyTuple_New(0);
    }
    PyObject *out = PyTuple_New(k);
    if (!out)
        goto fail;
    Py_ssize_t first = -1;
    for (Py_ssize_t i = 0; i < k && first < 0; i++)
        if (slots[i] != UINT64_MAX)
            first = i;
    for (Py_ssize_t i = 0; i < k; i++) {
        uint64_t value = slots[i];
        if (value == UINT64_MAX && first >= 0) { /* the next filled slot after i, else the first one */
            Py_ssize_t j = first;
            for (Py_ssize_t m = i + 1; m < k; m++)
                if (slots[m] != UINT64_MAX) {
                    j = m;
                    break;
                }
            value = mix64(slots[j] ^ (uint64_t)(((j - i) % k + k) % k));
        }
        PyObject *item = PyLong_FromUnsignedLongLong(value);
        if (!item) {
            Py_DECREF(out);
            goto fail;
        }
        PyTuple_SET_ITEM(out, i, item);
    }
    PyMem_Free(slots);
    return out;
fail:
    PyMem_Free(slots);
    return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* 1 when str s starts with one of the str items of tuple prefixes at offset `at`. */
static int
starts_with_any(PyObject *s, Py_ssize_t at, PyObject *prefixes)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
        int r = (int)PyUnicode_Tailmatch(s, PyTuple_GET_ITEM(prefixes, i), at, PY_SSIZE_T_MAX, -1);
        if (r != 0)
            return r;
    }
    return 0;
}

static PyObject *attr_name, *attr_size, *attr_kind, *attr_crc; /* interned at import */

/* file_keys(entries, skip_kinds, library_resources) -> list: similarity.file_features. */
static PyObject *
file_keys(PyObject *self, PyObject *args)
{
    PyObject *entries, *skip, *libres;
    if (!PyArg_ParseTuple(args, "OOO!:file_keys", &entries, &skip, &PyTuple_Type, &libres))
        return NULL;
    if (!PyAnySet_Check(skip))
        return PyErr_Format(PyExc_TypeError, "file_keys: skip_kinds must be a set");
    PyObject *seq = PySequence_Fast(entries, "file_keys: entries must be a sequence");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), count = 0;
    uint64_t *keys = PyMem_Malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
    PyObject *result = NULL, *tops = Py_BuildValue("(sss)", "assets/", "lib/", "res/");
    if (!keys || !tops) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *name = PyObject_GetAttr(e, attr_name);
        if (!name)
            goto done;
        if (!PyUnicode_Check(name)) {
            Py_DECREF(name);
            PyErr_SetString(PyExc_TypeError, "file_keys: an entry name is not a str");
            goto done;
        }
        int keep = starts_with_any(name, 0, tops);
        if (keep > 0 && PyUnicode_READ_CHAR(name, 0) == 'r') {
            Py_ssize_t slash = PyUnicode_FindChar(name, '/', 0, PyUnicode_GET_LENGTH(name), -1);
            int lib = slash < -1 ? -1 : starts_with_any(name, slash + 1, libres);
            keep = lib < 0 ? -1 : !lib;
        }
        Py_DECREF(name);
        if (keep < 0)
            goto done;
        if (!keep)
            continue;
        PyObject *size = PyObject_GetAttr(e, attr_size);
        PyObject *kind = size ? PyObject_GetAttr(e, attr_kind) : NULL;
        PyObject *crc = kind ? PyObject_GetAttr(e, attr_crc) : NULL;
        if (!crc) {
            Py_XDECREF(size);
            Py_XDECREF(kind);
            goto done;
        }
        int skipped = PySet_Contains(skip, kind);
        int empty = PyObject_Not(size);
        unsigned long long sz = PyLong_AsUnsignedLongLongMask(size), cr = PyLong_AsUnsignedLongLong(crc);
        Py_DECREF(size);
        Py_DECREF(kind);
        Py_DECREF(crc);
        if (skipped < 0 || empty < 0 || PyErr_Occurred())
            goto done;
        if (skipped || empty)
            continue;
        if (cr > 0xFFFFFFFFULL) {
            PyErr_SetString(PyExc_ValueError, "file_keys: a CRC over 32 bits");
            goto done;
        }
        keys[count++] = (uint64_t)cr << 32 | (sz & 0xFFFFFFFFULL);
    }
    qsort(keys, (size_t)count, sizeof keys[0], cmp_u64);
    result = PyList_New(0);
    for (Py_ssize_t i = 0; result && i < count; i++) {
        if (i && keys[i] == keys[i - 1])
            continue;
        PyObject *v = PyLong_FromUnsignedLongLong(mix64(keys[i]));
        if (!v || PyList_Append(result, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(result);
        } else {
            Py_DECREF(v);
        }
    }
done:
    PyMem_Free(keys);
    Py_XDECREF(tops);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods_def[] = {
    {"method_flags", method_flags, METH_VARARGS, "Own (1), platform (2) or other (0) per method."},
    {"shape_sums", shape_sums, METH_VARARGS, "Per own caller, the sum of its platform callees' hashes."},
    {"str_hashes", str_hashes, METH_O, "similarity._crc_hash of each str."},
    {"api_hashes", api_hashes, METH_VARARGS, "similarity._api_hashes_py: per method, its name's hash or 0."},
    {"own_strings", own_strings, METH_VARARGS, "similarity._own_strings_py: add the app's loaded strings to a set."},
    {"minhash", minhash, METH_VARARGS, "similarity.minhash of an iterable of 64-bit ints."},
    {"file_keys", file_keys, METH_VARARGS, "similarity.file_features over archive entries."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_simfast", NULL, -1, methods_def, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC
PyInit__simfast(void)
{
    attr_name = PyUnicode_InternFromString("name");
    attr_size = PyUnicode_InternFromString("size");
    attr_kind = PyUnicode_InternFromString("kind");
    attr_crc = PyUnicode_InternFromString("crc");
    if (!attr_name || !attr_size || !attr_kind || !attr_crc)
        return NULL;
    crc_init();
    return PyModule_Create(&module);
}
