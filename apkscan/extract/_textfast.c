/*
 * apkscan.extract._textfast: passes over a large list of strings (a dex string table)
 * that Python would make one string at a time.
 *
 * Optional: without it, the same results come from Python code (named below); tests
 * hold the two equal. It reads Python strings only, never APK bytes.
 *
 * ascii_blob: apkscan.rules.context (TextList.ascii_split, TextBlob.build, _starts).
 * pick: apkscan.extract.text (TextHarvest.add's filters).
 * ip_runs: apkscan.extract.text (where TextHarvest.add_text's IP_RE can match).
 *
 * ascii_blob(texts, lower) walks a list of str once. The ASCII strings (a flag CPython
 * keeps in every str, so no character is looked at to decide) are copied into one
 * bytes object, NUL-separated, NUL inside a string turned into a space and, when
 * `lower` is true, A-Z lowered: what
 *     "\0".join(s.replace("\0", " ") for s in ascii).lower().encode()
 * gives. It also records, for each copied string, its index in `texts` and (from the
 * second on) the byte offset where it starts; the indices of the other strings are
 * returned for the Python code to normalise.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *
ascii_blob(PyObject *self, PyObject *args)
{
    PyObject *texts;
    int lower;
    if (!PyArg_ParseTuple(args, "O!p:ascii_blob", &PyList_Type, &texts, &lower))
        return NULL;

    Py_ssize_t n = PyList_GET_SIZE(texts);
    Py_ssize_t total = 0, n_ascii = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "ascii_blob: item %zd is not a str", i);
            return NULL;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(s) < 0)
            return NULL;
#endif
        if (PyUnicode_IS_ASCII(s)) {
            Py_ssize_t len = PyUnicode_GET_LENGTH(s);
            if (len > PY_SSIZE_T_MAX - total - 1) {
                PyErr_SetString(PyExc_OverflowError, "ascii_blob: text too large");
                return NULL;
            }
            total += len + 1;
            n_ascii++;
        }
    }
    if (n_ascii)
        total -= 1; /* no separator after the last string */
    if (n > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "ascii_blob: too many texts");
        return NULL;
    }

    PyObject *data = PyBytes_FromStringAndSize(NULL, total);
    PyObject *index = PyBytes_FromStringAndSize(NULL, n_ascii * 4);
    PyObject *starts = PyBytes_FromStringAndSize(NULL, (n_ascii ? n_ascii - 1 : 0) * 8);
    PyObject *others = PyBytes_FromStringAndSize(NULL, (n - n_ascii) * 4);
    if (!data || !index || !starts || !others)
        goto fail;

    char *out = PyBytes_AS_STRING(data);
    uint32_t *idx = (uint32_t *)PyBytes_AS_STRING(index);
    int64_t *st = (int64_t *)PyBytes_AS_STRING(starts);
    uint32_t *oth = (uint32_t *)PyBytes_AS_STRING(others);
    Py_ssize_t pos = 0, k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_IS_ASCII(s)) {
            *oth++ = (uint32_t)i;
            continue;
        }
        if (k) {
            out[pos++] = '\0';
            *st++ = (int64_t)pos;
        }
        *idx++ = (uint32_t)i;
        k++;
        const unsigned char *src = (const unsigned char *)PyUnicode_DATA(s);
        Py_ssize_t len = PyUnicode_GET_LENGTH(s);
        for (Py_ssize_t j = 0; j < len; j++) {
            unsigned char c = src[j];
            if (c == 0)
                c = ' ';
            else if (lower && c >= 'A' && c <= 'Z')
                c = (unsigned char)(c + 32);
            out[pos + j] = (char)c;
        }
        pos += len;
    }
    return Py_BuildValue("(NNNN)", data, index, starts, others);

fail:
    Py_XDECREF(data);
    Py_XDECREF(index);
    Py_XDECREF(starts);
    Py_XDECREF(others);
    return NULL;
}


/* Whether str s contains the ASCII text needle (of length n >= 1). */
static int
contains(PyObject *s, const char *needle, Py_ssize_t n)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    if (len < n)
        return 0;
    if (PyUnicode_IS_ASCII(s)) {
        const char *data = (const char *)PyUnicode_DATA(s);
        if (n == 1)
            return memchr(data, needle[0], (size_t)len) != NULL;
        const char *end = data + len - n + 1;
        for (const char *p = data; p < end; p++) {
            p = memchr(p, needle[0], (size_t)(end - p));
            if (p == NULL)
                return 0;
            if (memcmp(p, needle, (size_t)n) == 0)
                return 1;
        }
        return 0;
    }
    PyObject *sub = PyUnicode_FromStringAndSize(needle, n);
    if (sub == NULL)
        return -1;
    Py_ssize_t at = PyUnicode_Find(s, sub, 0, len, 1);
    Py_DECREF(sub);
    return at == -2 ? -1 : at >= 0;
}

static int
append_if(PyObject *list, PyObject *s, int yes)
{
    return yes > 0 ? PyList_Append(list, s) : yes;
}

static PyObject *
pick(PyObject *self, PyObject *args)
{
    PyObject *arg;
    if (!PyArg_ParseTuple(args, "O:pick", &arg))
        return NULL;
    if (!PyList_Check(arg) && !PyTuple_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "pick: a list or tuple of str is needed");
        return NULL;
    }
    PyObject *texts = PySequence_Fast(arg, "pick"); /* the same object, a new reference */
    if (texts == NULL)
        return NULL;
    PyObject *urls = PyList_New(0), *ips = PyList_New(0), *ats = PyList_New(0);
    if (!urls || !ips || !ats)
        goto fail;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(texts);
    PyObject **items = PySequence_Fast_ITEMS(texts);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = items[i];
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "pick: item %zd is not a str", i);
            goto fail;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(s) < 0)
            goto fail;
#endif
        if (append_if(urls, s, contains(s, "://", 3)) < 0)
            goto fail;
        Py_ssize_t len = PyUnicode_GET_LENGTH(s);
        if (len >= 7 && len <= 21) {
            /* ASCII: only a digit first can start an address; others are left to Python */
            int maybe = 1;
            if (PyUnicode_IS_ASCII(s)) {
                char c = ((const char *)PyUnicode_DATA(s))[0];
                maybe = c >= '0' && c <= '9';
            }
            if (append_if(ips, s, maybe) < 0)
                goto fail;
        }
        if (append_if(ats, s, contains(s, "@", 1)) < 0)
            goto fail;
    }
    Py_DECREF(texts);
    return Py_BuildValue("(NNN)", urls, ips, ats);

fail:
    Py_DECREF(texts);
    Py_XDECREF(urls);
    Py_XDECREF(ips);
    Py_XDECREF(ats);
    return NULL;
}

/* Start offsets of the maximal runs of ASCII digits and dots in str `text` that have the
 * shape of an IPv4 address (four groups of one to three digits, three dots). Every match
 * of text.IP_RE made only of ASCII characters is one of them; the caller confirms each
 * with IP_RE.match (whose look-arounds also see non-ASCII digits). */
static PyObject *
ip_runs(PyObject *self, PyObject *args)
{
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:ip_runs", &text))
        return NULL;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0)
        return NULL;
#endif
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!((c >= '0' && c <= '9') || c == '.')) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int dots = 0, digits = 0, ok = 1;
        for (; i < n; i++) {
            c = PyUnicode_READ(kind, data, i);
            if (c >= '0' && c <= '9') {
                if (++digits > 3)
                    ok = 0;
            } else if (c == '.') {
                if (digits == 0 || ++dots > 3)
                    ok = 0;
                digits = 0;
            } else {
                break;
            }
        }
        if (ok && dots == 3 && digits > 0) {
            PyObject *pos = PyLong_FromSsize_t(start);
            if (pos == NULL || PyList_Append(out, pos) < 0) {
                Py_XDECREF(pos);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(pos);
        }
    }
    return out;
}

static PyMethodDef textfast_methods[] = {
    {"ip_runs", ip_runs, METH_VARARGS,
     "ip_runs(text, /) -> starts of the ASCII runs shaped like an IPv4 address: see the module source."},
    {"pick", pick, METH_VARARGS,
     "pick(texts, /) -> (with '://', maybe an address alone, with '@'): see the module source."},
    {"ascii_blob", ascii_blob, METH_VARARGS,
     "ascii_blob(texts, lower, /) -> (data, index, starts, others): see the module source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef textfast_module = {
    PyModuleDef_HEAD_INIT, "apkscan.extract._textfast",
    "Passes over large lists of strings in C (see _textfast.c).", -1, textfast_methods,
};

PyMODINIT_FUNC
PyInit__textfast(void)
{
    return PyModule_Create(&textfast_module);
}
