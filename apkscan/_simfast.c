/*
 * apkscan._simfast: the per-method and per-call-edge passes of apkscan.similarity's code
 * sketch, which Python would make one method or one edge at a time (a large app has
 * 140,000 methods and 330,000 call edges).
 *
 * Optional: without it, apkscan.similarity computes the same results in Python
 * (_method_flags_py, _shape_sums_py, _own_loads_py); tests hold the two equal. It reads
 * Python strings and uint32 buffers from the facts, never APK bytes.
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
 * own_loads(const_strings, flags) -> list[int]
 *   The string indices loaded by methods with flags == 1, in buffer order.
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

/* 1 when a prefix of s ending at a '/', '$' or ';' of its class part (before "->") is
   in `prefixes` (a set or frozenset of str), 0 when none is, -1 on error. Every prefix
   given ends with one of those characters (similarity._excluded_prefixes), so this is
   s.startswith(tuple(prefixes)) with one set look-up per package level. */
static int
has_prefix_in(PyObject *s, PyObject *prefixes)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 1; i < n; i++) {
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
    /* Methods of one class are contiguous in a dex's method_ids: the flag of the previous
       method is reused while the class part (up to "->") of a 1-byte string is the same. */
    const char *prev = NULL;
    Py_ssize_t prev_len = -1;
    char prev_flag = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *m = PyTuple_GET_ITEM(methods, i);
        if (!PyUnicode_Check(m)) {
            PyErr_Format(PyExc_TypeError, "method_flags: method %zd is not a str", i);
            goto fail;
        }
        const char *cls = NULL;
        Py_ssize_t cls_len = -1;
        if (PyUnicode_KIND(m) == PyUnicode_1BYTE_KIND) {
            cls = (const char *)PyUnicode_DATA(m);
            Py_ssize_t len = PyUnicode_GET_LENGTH(m);
            for (Py_ssize_t k = 0; k + 1 < len; k++) {
                if (cls[k] == '-' && cls[k + 1] == '>') {
                    cls_len = k;
                    break;
                }
            }
            if (cls_len >= 0 && cls_len == prev_len && memcmp(cls, prev, (size_t)cls_len) == 0) {
                out[i] = prev_flag;
                if (prev_flag == 2) {
                    PyObject *idx = PyLong_FromSsize_t(i);
                    if (!idx || PyList_Append(api, idx) < 0) {
                        Py_XDECREF(idx);
                        goto fail;
                    }
                    Py_DECREF(idx);
                }
                continue;
            }
        }
        int r = has_prefix_in(m, platform);
        if (r < 0)
            goto fail;
        prev = cls;
        prev_len = cls_len;
        if (r) {
            out[i] = prev_flag = 2;
            PyObject *idx = PyLong_FromSsize_t(i);
            if (!idx || PyList_Append(api, idx) < 0) {
                Py_XDECREF(idx);
                goto fail;
            }
            Py_DECREF(idx);
            continue;
        }
        r = has_prefix_in(m, exclude);
        if (r < 0)
            goto fail;
        out[i] = prev_flag = r ? 0 : 1;
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

static PyObject *
own_loads(PyObject *self, PyObject *args)
{
    Py_buffer loads, flags;
    if (!PyArg_ParseTuple(args, "y*y*:own_loads", &loads, &flags))
        return NULL;
    PyObject *result = NULL;
    if (loads.len % 8) {
        PyErr_SetString(PyExc_ValueError, "own_loads: odd buffer size");
        goto done;
    }
    result = PyList_New(0);
    if (!result)
        goto done;
    const uint32_t *c = (const uint32_t *)loads.buf;
    const unsigned char *f = (const unsigned char *)flags.buf;
    Py_ssize_t n = flags.len, ne = loads.len / 8;
    for (Py_ssize_t k = 0; k < ne; k++) {
        uint32_t m = c[2 * k];
        if ((Py_ssize_t)m >= n || f[m] != 1)
            continue;
        PyObject *v = PyLong_FromUnsignedLong(c[2 * k + 1]);
        if (!v || PyList_Append(result, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(v);
    }
done:
    PyBuffer_Release(&loads);
    PyBuffer_Release(&flags);
    return result;
}

static PyMethodDef methods_def[] = {
    {"method_flags", method_flags, METH_VARARGS, "Own (1), platform (2) or other (0) per method."},
    {"shape_sums", shape_sums, METH_VARARGS, "Per own caller, the sum of its platform callees' hashes."},
    {"own_loads", own_loads, METH_VARARGS, "String indices loaded by the app's own methods."},
    {"str_hashes", str_hashes, METH_O, "similarity._crc_hash of each str."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_simfast", NULL, -1, methods_def, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC
PyInit__simfast(void)
{
    crc_init();
    return PyModule_Create(&module);
}
