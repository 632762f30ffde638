/*
 * apkscan.extract._zipfast: the zip-bomb probe of many archive entries in one call,
 * without the GIL, and the plain central directory records of an archive in one pass.
 *
 * Optional: without it, apkscan.extract.archive probes each entry with Python's zlib
 * (ApkArchive._probe_batch_py); tests hold the two equal. It reads the APK's bytes only.
 *
 * probe(data, jobs, max_ratio, ratio_floor, chunk, in_chunk, cap, probed, deadline)
 * inflates, and drops, each job (start, end, limit) of `data` exactly as
 * ApkArchive._probe does (without `keep`): input fed in `in_chunk` slices, output taken
 * in pieces of at most `chunk` bytes, at most limit + 1 bytes in all, the ratio checked
 * after every piece. Before each job it stops when probed + limit would pass `cap` or
 * the monotonic clock is past `deadline` (seconds; <= 0: none), as probe_unread does.
 * Returns (results, stopped_at, reason, probed): one (got, status, used) per job done,
 * status 0 (done), 1 (ratio above max_ratio after `got` bytes from `used`) or 2 (a
 * zlib error: `got` is what came out before it); reason 0 (all done), 1 (budget) or
 * 2 (time).
 *
 * records(data, p, cd_end, shift, room, cd_offset) reads central directory records and
 * their local headers as ApkArchive._parse_cd does, and marks those with nothing unusual
 * in them; the Python reading takes every other record, so tampering is judged in one
 * place (tests hold the two equal on the samples, damaged copies and the corpus).
 *
 * sniff(heads) is archive.sniff of many heads, where ASCII bytes and magic numbers
 * decide it (None where only Python's UTF-8 reading can).
 *
 * heads(data, jobs) gives, for each (start, stop, n) job, the first n bytes of a raw
 * deflate stream as ApkArchive._head inflates them for the content sniff (None where
 * zlib finds the data corrupt): thousands of entries in one call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define SCRATCH (64 * 1024)

typedef struct {
    int64_t start, end, limit;
    int64_t got, used;
    int status;
} Job;

/* One call of Python's Decompress.decompress(input, max_length) on stream zs: inflate
 * until max_out bytes came out, the input is used up, the stream ends or an error.
 * Output goes to `sink` (size cap) when it is not NULL, else to a scratch buffer and is
 * dropped. Returns 0, 1 at the stream's end, -1 on a zlib error; *produced is the output
 * and *left the input not consumed. */
static int
step(z_stream *zs, const uint8_t *in, int64_t in_len, int64_t max_out, uint8_t *scratch, uint8_t *sink,
     int64_t *produced, int64_t *left)
{
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)in_len;
    *produced = 0;
    int end = 0;
    while (*produced < max_out) {
        int64_t room = max_out - *produced;
        if (sink != NULL) {
            zs->next_out = sink + *produced;
        }
        else {
            if (room > SCRATCH) {
                room = SCRATCH;
            }
            zs->next_out = scratch;
        }
        zs->avail_out = (uInt)room;
        int rc = inflate(zs, Z_SYNC_FLUSH);
        *produced += room - (int64_t)zs->avail_out;
        if (rc == Z_STREAM_END) {
            end = 1;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            *left = zs->avail_in;
            return -1;
        }
        if (zs->avail_out != 0) { /* the input is used up (or no progress is possible) */
            break;
        }
    }
    *left = zs->avail_in;
    return end;
}

static void
probe_one(const uint8_t *data, Job *job, int64_t max_ratio, int64_t ratio_floor, int64_t chunk, int64_t in_chunk,
          uint8_t *scratch)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    job->got = 0;
    job->used = 0;
    job->status = 0;
    if (inflateInit2(&zs, -15) != Z_OK) {
        job->status = 2;
        return;
    }
    const int64_t n = job->end - job->start;
    const int64_t want = job->limit + 1;
    int64_t got = 0, pos = 0;
    const uint8_t *tail = NULL;
    int64_t tail_len = 0;
    int eof = 0;
    while (got < want && !eof) {
        const uint8_t *in;
        int64_t in_len;
        if (tail_len) {
            in = tail;
            in_len = tail_len;
        }
        else if (pos < n) {
            in = data + job->start + pos;
            in_len = n - pos < in_chunk ? n - pos : in_chunk;
            pos = pos + in_chunk < n ? pos + in_chunk : n;
        }
        else {
            break;
        }
        int64_t max_out = want - got < chunk ? want - got : chunk;
        int64_t produced, left;
        int rc = step(&zs, in, in_len, max_out, scratch, NULL, &produced, &left);
        if (rc < 0) {
            job->status = 2;
            break;
        }
        eof = rc == 1;
        /* Python keeps what is left as unconsumed_tail, or as unused_data at the end */
        tail = eof ? NULL : in + (in_len - left);
        tail_len = eof ? 0 : left;
        got += produced;
        int64_t used = pos - left;
        if (got >= ratio_floor && got > max_ratio * (used > 1 ? used : 1)) {
            job->status = 1;
            job->used = used;
            break;
        }
    }
    job->got = got;
    inflateEnd(&zs);
}

static double
monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

PyDoc_STRVAR(probe_doc,
"probe(data, jobs, max_ratio, ratio_floor, chunk, in_chunk, cap, probed, deadline)\n"
"-> (results, stopped_at, reason, probed)\n\n"
"ApkArchive._probe (without keep) of each (start, end, limit) job, with probe_unread's\n"
"budget and time checks before each; see the module comment.");

static PyObject *
probe(PyObject *self, PyObject *args)
{
    PyObject *data_obj, *jobs_obj;
    long long max_ratio, ratio_floor, chunk, in_chunk, cap, probed;
    double deadline;
    if (!PyArg_ParseTuple(args, "O!O!LLLLLLd:probe", &PyBytes_Type, &data_obj, &PyList_Type, &jobs_obj, &max_ratio,
                          &ratio_floor, &chunk, &in_chunk, &cap, &probed, &deadline)) {
        return NULL;
    }
    if (chunk < 1 || in_chunk < 1 || chunk > INT32_MAX || in_chunk > INT32_MAX || max_ratio < 0) {
        PyErr_SetString(PyExc_ValueError, "chunk sizes must be in 1..2**31-1 and max_ratio >= 0");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(jobs_obj);
    int64_t size = PyBytes_GET_SIZE(data_obj);
    Job *jobs = PyMem_Calloc(count ? (size_t)count : 1, sizeof(Job));
    uint8_t *scratch = PyMem_Malloc(SCRATCH);
    if (jobs == NULL || scratch == NULL) {
        PyMem_Free(jobs);
        PyMem_Free(scratch);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *t = PyList_GET_ITEM(jobs_obj, i);
        long long a, b, c;
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "LLL", &a, &b, &c)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "jobs must be (start, end, limit) tuples");
            }
            PyMem_Free(jobs);
            PyMem_Free(scratch);
            return NULL;
        }
        if (a < 0 || b < a || b > size || c < 0 || c >= INT64_MAX / 2) {
            PyErr_SetString(PyExc_ValueError, "job outside the data");
            PyMem_Free(jobs);
            PyMem_Free(scratch);
            return NULL;
        }
        jobs[i].start = a;
        jobs[i].end = b;
        jobs[i].limit = c;
    }
    const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    Py_ssize_t done = 0;
    int reason = 0;
    int64_t total = probed;
    Py_BEGIN_ALLOW_THREADS
    for (; done < count; done++) {
        if (total + jobs[done].limit > cap) {
            reason = 1;
            break;
        }
        if (deadline > 0 && monotonic() > deadline) {
            reason = 2;
            break;
        }
        probe_one(data, &jobs[done], max_ratio, ratio_floor, chunk, in_chunk, scratch);
        total += jobs[done].got;
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    PyObject *results = PyList_New(done);
    if (results == NULL) {
        PyMem_Free(jobs);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < done; i++) {
        PyObject *r = Py_BuildValue("(LiL)", (long long)jobs[i].got, jobs[i].status, (long long)jobs[i].used);
        if (r == NULL) {
            Py_DECREF(results);
            PyMem_Free(jobs);
            return NULL;
        }
        PyList_SET_ITEM(results, i, r);
    }
    PyMem_Free(jobs);
    return Py_BuildValue("(NniL)", results, done, reason, (long long)total);
}

PyDoc_STRVAR(heads_doc,
"heads(data, jobs) -> list\n\n"
"ApkArchive._head of each (start, stop, n) job for a deflated entry: the first n bytes\n"
"its raw deflate stream yields from data[start:stop], fed in steps of max(256, 4 * n)\n"
"bytes as the Python code feeds them, or None where zlib finds the data corrupt.");

static PyObject *
heads(PyObject *self, PyObject *args)
{
    PyObject *data_obj, *jobs_obj;
    if (!PyArg_ParseTuple(args, "O!O!:heads", &PyBytes_Type, &data_obj, &PyList_Type, &jobs_obj)) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(jobs_obj);
    int64_t size = PyBytes_GET_SIZE(data_obj);
    int64_t *spec = PyMem_Calloc(count ? (size_t)count * 3 : 1, sizeof(int64_t));
    if (spec == NULL) {
        return PyErr_NoMemory();
    }
    int64_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *t = PyList_GET_ITEM(jobs_obj, i);
        long long a, b, c;
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "LLL", &a, &b, &c)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "jobs must be (start, stop, n) tuples");
            }
            PyMem_Free(spec);
            return NULL;
        }
        if (a < 0 || b < a || b > size || c < 0 || c > (1 << 20)) {
            PyErr_SetString(PyExc_ValueError, "job outside the data");
            PyMem_Free(spec);
            return NULL;
        }
        spec[3 * i] = a;
        spec[3 * i + 1] = b;
        spec[3 * i + 2] = c;
        total += c;
    }
    /* out[k]: bytes made per job (-1: corrupt), heads laid out one after another */
    int64_t *made = PyMem_Calloc(count ? (size_t)count : 1, sizeof(int64_t));
    uint8_t *buf = PyMem_Malloc(total ? (size_t)total : 1);
    if (made == NULL || buf == NULL) {
        PyMem_Free(spec);
        PyMem_Free(made);
        PyMem_Free(buf);
        return PyErr_NoMemory();
    }
    const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    int64_t at = 0;
    /* one stream for every job, reset between them: a fresh stream per entry (its state
     * and window allocated and freed) cost more than inflating a large app's heads */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) {
        failed = 1;
    }
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        int64_t pos = spec[3 * i], stop = spec[3 * i + 1], n = spec[3 * i + 2];
        uint8_t *out = buf + at;
        at += n;
        if (i > 0 && inflateReset(&zs) != Z_OK) {
            failed = 1;
            break;
        }
        int64_t got = 0;
        int eof = 0, bad = 0;
        int64_t stride = 4 * n > 256 ? 4 * n : 256;
        while (got < n && pos < stop && !eof) {
            int64_t len = (pos + stride < stop ? pos + stride : stop) - pos;
            int64_t produced, left;
            int rc = step(&zs, data + pos, len, n - got, NULL, out + got, &produced, &left);
            if (rc < 0) {
                bad = 1;
                break;
            }
            got += produced;
            eof = rc == 1;
            const uint8_t *tail = data + pos + (len - left);
            pos += len;
            /* Python's inner loop: the unconsumed tail, while the head is short */
            while (!eof && left > 0 && got < n) {
                int64_t tail_len = left;
                rc = step(&zs, tail, tail_len, n - got, NULL, out + got, &produced, &left);
                if (rc < 0) {
                    bad = 1;
                    break;
                }
                got += produced;
                eof = rc == 1;
                tail += tail_len - left;
            }
            if (bad) {
                break;
            }
        }
        made[i] = bad ? -1 : got;
    }
    if (!failed) {
        inflateEnd(&zs);
    }
    Py_END_ALLOW_THREADS
    PyObject *result = failed ? PyErr_NoMemory() : PyList_New(count);
    for (Py_ssize_t i = 0, off = 0; result != NULL && i < count; off += spec[3 * i + 2], i++) {
        PyObject *item;
        if (made[i] < 0) {
            item = Py_None;
            Py_INCREF(item);
        }
        else {
            item = PyBytes_FromStringAndSize((const char *)buf + off, (Py_ssize_t)made[i]);
            if (item == NULL) {
                Py_CLEAR(result);
                break;
            }
        }
        PyList_SET_ITEM(result, i, item);
    }
    PyMem_Free(spec);
    PyMem_Free(made);
    PyMem_Free(buf);
    return result;
}

/* ApkArchive._extra_ok: (id, size, data) blocks; a short or zero-padded tail passes
 * only when every byte left is zero. */
static int
extra_ok(const uint8_t *e, int64_t n)
{
    int64_t p = 0;
    while (p + 4 <= n) {
        int64_t size = e[p + 2] | (e[p + 3] << 8);
        if (p + 4 + size > n) {
            break;
        }
        p += 4 + size;
    }
    for (int64_t q = p; q < n; q++) {
        if (e[q]) {
            return 0;
        }
    }
    return 1;
}

static uint32_t
u32(const uint8_t *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static uint16_t
u16(const uint8_t *b)
{
    return (uint16_t)(b[0] | (b[1] << 8));
}

/* A name ApkArchive._check_name says nothing about: not empty, no control character,
 * not absolute, no drive letter, no ".." part (backslashes read as slashes). */
static int
name_ok(const uint8_t *s, int64_t n)
{
    if (n == 0 || s[0] == '/' || s[0] == '\\') {
        return 0;
    }
    if (n >= 2 && s[1] == ':' && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
        return 0;
    }
    int64_t part = 0; /* start of the current part */
    for (int64_t i = 0; i <= n; i++) {
        uint8_t c = i < n ? s[i] : '/';
        if (i < n && (c < 0x20 || c == 0x7f)) {
            return 0;
        }
        if (c == '/' || c == '\\') {
            if (i - part == 2 && s[part] == '.' && s[part + 1] == '.') {
                return 0;
            }
            part = i + 1;
        }
    }
    return 1;
}

PyDoc_STRVAR(records_doc,
"records(data, p, cd_end, shift, room, cd_offset) -> (rows, p)\n\n"
"Central directory records from offset p, as ApkArchive._parse_cd reads them, until one\n"
"it must judge itself (bad signature, a record past cd_end) or `room` records. One row\n"
"per record: (at, plain, name, raw_name, method, flags, crc, csize, usize, lho, data_start)\n"
"with lho the declared offset plus shift. plain is 1 when nothing in the record or its\n"
"local header is unusual (no zip64, a UTF-8 name that _check_name passes, method 0 or\n"
"8, no encryption flag, well-formed extras, a local header before the central directory\n"
"that repeats its name, method, CRC and sizes, with no data descriptor or encryption\n"
"flag and an extra under 32 bytes); else 0, and name and data_start are None and -1: the caller reads that\n"
"record its own way. p is where the caller goes on.");

static PyObject *
records(PyObject *self, PyObject *args)
{
    PyObject *data_obj;
    long long p, cd_end, shift, room, cd_offset;
    if (!PyArg_ParseTuple(args, "O!LLLLL:records", &PyBytes_Type, &data_obj, &p, &cd_end, &shift, &room,
                          &cd_offset)) {
        return NULL;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data_obj);
    int64_t n = PyBytes_GET_SIZE(data_obj);
    if (cd_end > n) {
        cd_end = n;
    }
    PyObject *rows = PyList_New(0);
    if (rows == NULL) {
        return NULL;
    }
    while (p >= 0 && p + 46 <= cd_end && room > 0) {
        const uint8_t *r = d + p;
        if (u32(r) != 0x02014B50u) {
            break;
        }
        uint16_t flags = u16(r + 8), method = u16(r + 10);
        uint32_t crc = u32(r + 16), csize = u32(r + 20), usize = u32(r + 24);
        int64_t nlen = u16(r + 28), elen = u16(r + 30), clen = u16(r + 32);
        uint32_t lho = u32(r + 42);
        int64_t name_at = p + 46;
        if (name_at + nlen + elen + clen > cd_end) {
            break;
        }
        const uint8_t *raw = d + name_at;
        int64_t at = p;
        p = name_at + nlen + elen + clen;
        room--;
        int64_t off = (int64_t)lho + shift, start = -1;
        int plain = csize != 0xFFFFFFFFu && usize != 0xFFFFFFFFu && lho != 0xFFFFFFFFu && (method == 0 || method == 8) &&
                    !(flags & 1) && name_ok(raw, nlen) && extra_ok(raw + nlen, elen);
        if (plain && off >= 0 && off + 30 <= n && off < cd_offset) {
            const uint8_t *l = d + off;
            int64_t lnlen = u16(l + 26), lelen = u16(l + 28);
            start = off + 30 + lnlen + lelen;
            plain = u32(l) == 0x04034B50u && start <= n && !(u16(l + 6) & 9) && u16(l + 8) == method &&
                    u32(l + 14) == crc && u32(l + 18) == csize && u32(l + 22) == usize && lnlen == nlen &&
                    memcmp(l + 30, raw, (size_t)nlen) == 0 && lelen < 32 && extra_ok(l + 30 + lnlen, lelen);
        }
        else {
            plain = 0;
        }
        PyObject *name = NULL;
        if (plain) {
            name = PyUnicode_DecodeUTF8((const char *)raw, (Py_ssize_t)nlen, NULL);
            if (name == NULL) {
                PyErr_Clear(); /* not UTF-8: the caller's reading says so */
                plain = 0;
            }
        }
        if (!plain) {
            name = Py_None;
            Py_INCREF(name);
            start = -1;
        }
        PyObject *row = Py_BuildValue("(LiNy#iiIIILL)", (long long)at, plain, name, (const char *)raw, (Py_ssize_t)nlen,
                                      (int)method, (int)flags, crc, csize, usize, (long long)off, (long long)start);
        if (row == NULL || PyList_Append(rows, row) < 0) {
            Py_XDECREF(row);
            Py_DECREF(rows);
            return NULL;
        }
        Py_DECREF(row);
    }
    return Py_BuildValue("(NL)", rows, p);
}

/* archive.sniff for a head whose answer needs no Unicode: the magic numbers, and text
 * judged on ASCII bytes; NULL where only Python's reading of UTF-8 can tell. */
static const char *
sniff_one(const uint8_t *h, Py_ssize_t n)
{
    if (n == 0) {
        return "other";
    }
    if (n >= 4 && memcmp(h, "dex\n", 4) == 0) {
        return "dex";
    }
    if (n >= 4 && (memcmp(h, "PK\x03\x04", 4) == 0 || memcmp(h, "PK\x05\x06", 4) == 0)) {
        return "zip";
    }
    if (n >= 4 && memcmp(h, "\x7f" "ELF", 4) == 0) {
        return "elf";
    }
    if (n >= 4 && h[2] == 0x08 && h[3] == 0 && (h[0] == 0x03 || h[0] == 0) && h[1] == 0) {
        return "axml";
    }
    if (n >= 4 && memcmp(h, "\x02\x00\x0c\x00", 4) == 0) {
        return "arsc";
    }
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) {
        return "png";
    }
    if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff) {
        return "jpeg";
    }
    if (memchr(h, 0, (size_t)n) != NULL) {
        return "other"; /* _looks_text: a NUL byte is not text */
    }
    Py_ssize_t good = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t c = h[i];
        if (c >= 0x80) {
            return NULL;
        }
        good += (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n' || c == '\f';
    }
    return (double)good >= 0.95 * (double)n ? "text" : "other";
}

PyDoc_STRVAR(sniff_doc,
"sniff(heads) -> list\n\n"
"archive.sniff of each head (bytes), or None where the head holds a non-ASCII byte and no\n"
"magic number or NUL decides it (the caller's sniff reads it as UTF-8).");

static PyObject *
sniff(PyObject *self, PyObject *args)
{
    PyObject *heads_obj;
    if (!PyArg_ParseTuple(args, "O!:sniff", &PyList_Type, &heads_obj)) {
        return NULL;
    }
    static const char *names[] = {"other", "dex", "zip", "elf", "axml", "arsc", "png", "jpeg", "text"};
    PyObject *interned[9];
    for (int k = 0; k < 9; k++) {
        interned[k] = PyUnicode_InternFromString(names[k]);
        if (interned[k] == NULL) {
            for (int j = 0; j < k; j++) {
                Py_DECREF(interned[j]);
            }
            return NULL;
        }
    }
    Py_ssize_t count = PyList_GET_SIZE(heads_obj);
    PyObject *result = PyList_New(count);
    for (Py_ssize_t i = 0; result != NULL && i < count; i++) {
        PyObject *head = PyList_GET_ITEM(heads_obj, i);
        if (!PyBytes_Check(head)) {
            PyErr_SetString(PyExc_TypeError, "heads must be bytes");
            Py_CLEAR(result);
            break;
        }
        const char *kind = sniff_one((const uint8_t *)PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head));
        PyObject *item = Py_None;
        for (int k = 0; kind != NULL && k < 9; k++) {
            if (strcmp(kind, names[k]) == 0) {
                item = interned[k];
                break;
            }
        }
        Py_INCREF(item);
        PyList_SET_ITEM(result, i, item);
    }
    for (int k = 0; k < 9; k++) {
        Py_DECREF(interned[k]);
    }
    return result;
}

static PyMethodDef zipfast_methods[] = {
    {"sniff", sniff, METH_VARARGS, sniff_doc},
    {"records", records, METH_VARARGS, records_doc},
    {"probe", probe, METH_VARARGS, probe_doc},
    {"heads", heads, METH_VARARGS, heads_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef zipfast_module = {
    PyModuleDef_HEAD_INIT,
    "apkscan.extract._zipfast",
    "The zip-bomb probe of apkscan.extract.archive in C, without the GIL (same results as its Python code).",
    -1,
    zipfast_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__zipfast(void)
{
    return PyModule_Create(&zipfast_module);
}
