/* kisfeed.schema._fields: the decode fast path's field reader, in one pass over the payload.
 *
 * split(payload, kinds, signs) cuts a frame's payload on '^' and turns each field into the value
 * kinds.parse_value gives for its kind, or raises ValueError. The Python reader (records._reader)
 * then takes the careful path, which names the field at fault: so this reader may refuse more
 * than kinds.WIRE (an empty field, "nan", ".5", a decimal longer than its buffer) but never take
 * a text WIRE refuses, nor read one otherwise. What each kind byte takes:
 *
 *   c, f  CODE, FLAG: any text but ""                 (WIRE: (?s:.+))
 *   t     TIME: any text but "", as str               (records maps it through kinds.TIMES)
 *   i     INT, SIGNED, PRICE: -?[0-9]+ within int64   (WIRE, kinds.INT64)
 *   d     DECIMAL: -?[0-9]+(\.[0-9]*)?, finite        (a subset of WIRE: no NaN, no leading '.')
 *   s     SIGN: one of 0..5, as signs[n]              (WIRE: [0-5])
 *   x     a field past the layout: any text, "" too   (kept raw, as the careful path keeps it)
 *
 * A kind byte outside these is the caller's bug, not the wire's: TypeError, which the fast
 * path's `except ValueError` does not swallow.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Decimals KIS writes are a dozen characters; a longer text goes the careful way rather than
 * to a heap copy. */
#define DECIMAL_MAX 63

/* The integer in text[start:end], or NULL (no error set: split_kind sets the ValueError). The
 * value is built in uint64 and checked against the int64 bound of its sign before each digit,
 * so no text overflows it, and none past kinds.INT64 is taken. */
static inline Py_ALWAYS_INLINE PyObject *
read_int(int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    int negative = start < end && PyUnicode_READ(kind, data, start) == '-';
    Py_ssize_t i = start + negative;
    if (i == end)
        return NULL; /* "" or "-" */
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t value = 0;
    for (; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < '0' || c > '9') /* no '+', ' ', '_', '.', nor a non-ASCII digit */
            return NULL;
        unsigned digit = c - '0';
        if (value > (limit - digit) / 10)
            return NULL; /* past int64 */
        value = value * 10 + digit;
    }
    if (negative && value != 0) /* -(2**63) has no positive int64: negate value - 1 */
        return PyLong_FromLongLong(-(long long)(value - 1) - 1);
    return PyLong_FromLongLong((long long)value); /* "-0" is 0, as int("-0") */
}

/* 10**n for the decimal shortcut: every one up to 10**22 is a double exactly. */
static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* The decimal in text[start:end], or NULL (an error set only if Python's own parser set one):
 * checked against the grammar while its digits are read. What float(text) gives is the double
 * nearest the decimal value, ties to even. With 15 digits or fewer (KIS prints a dozen) that is
 * digits / 10**fraction: both are doubles exactly (below 2**53) and IEEE division rounds its
 * exact quotient to nearest, ties to even, so the bits are float()'s (the shortcut dtoa, behind
 * float(), takes itself for short texts). A longer text is read by PyOS_string_to_double, the parser float()
 * itself calls. Either way "-0.00" gives -0.0, as float() does. */
static inline Py_ALWAYS_INLINE PyObject *
read_decimal(int kind, const void *data, Py_ssize_t start, Py_ssize_t end)
{
    char buffer[DECIMAL_MAX + 1];
    Py_ssize_t length = end - start;
    if (length == 0 || length > DECIMAL_MAX)
        return NULL;
    int negative = 0, point = 0, digits = 0, fraction = 0;
    uint64_t mantissa = 0; /* wraps past 19 digits, but is used for 15 or fewer only */
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, start + i);
        if (c >= '0' && c <= '9') {
            mantissa = mantissa * 10 + (c - '0');
            digits++;
            fraction += point;
        }
        else if (c == '.' && !point && digits > 0) /* no ".5": a digit before the point */
            point = 1;
        else if (c == '-' && i == 0)
            negative = 1;
        else /* an exponent, a second point, a space, "nan", a non-ASCII digit */
            return NULL;
        buffer[i] = (char)c;
    }
    if (digits == 0)
        return NULL; /* "-" */
#if FLT_EVAL_METHOD == 0 /* doubles computed as doubles (SSE2), not in x87's wider registers */
    if (digits <= 15) {
        double value = (double)mantissa / POW10[fraction];
        return PyFloat_FromDouble(negative ? -value : value);
    }
#endif
    buffer[length] = '\0';
    double value = PyOS_string_to_double(buffer, NULL, NULL);
    if (value == -1.0 && PyErr_Occurred())
        return NULL;
    if (!isfinite(value)) /* parse_value refuses what float64 cannot hold; 63 digits never reach it */
        return NULL;
    return PyFloat_FromDouble(value);
}

/* One field of kind `code` in text[start:end] as a new reference, or NULL (an error set or not:
 * the caller sets ValueError if none is). */
static inline Py_ALWAYS_INLINE PyObject *
read_field(PyObject *payload, int kind, const void *data, char code, Py_ssize_t start, Py_ssize_t end,
           PyObject *signs)
{
    switch (code) {
    case 'x':
        return PyUnicode_Substring(payload, start, end);
    case 'c':
    case 'f':
    case 't':
        return start < end ? PyUnicode_Substring(payload, start, end) : NULL;
    case 'i':
        return read_int(kind, data, start, end);
    case 'd':
        return read_decimal(kind, data, start, end);
    case 's': {
        Py_UCS4 c = end - start == 1 ? PyUnicode_READ(kind, data, start) : 0;
        if (c < '0' || c > '5')
            return NULL;
        PyObject *sign = PyTuple_GET_ITEM(signs, c - '0');
        Py_INCREF(sign);
        return sign;
    }
    default:
        PyErr_Format(PyExc_TypeError, "unknown kind byte %d", (int)(unsigned char)code);
        return NULL;
    }
}

/* The '^' at or after `from`, or `length` if none. memchr for the common 1-byte string. */
static inline Py_ALWAYS_INLINE Py_ssize_t
next_caret(int kind, const void *data, Py_ssize_t from, Py_ssize_t length)
{
    if (kind == PyUnicode_1BYTE_KIND) {
        const char *found = memchr((const char *)data + from, '^', (size_t)(length - from));
        return found ? found - (const char *)data : length;
    }
    while (from < length && PyUnicode_READ(kind, data, from) != '^')
        from++;
    return from;
}

/* The loop, inlined once per string kind so that each copy reads one width of character (the
 * 1-byte copy is the one KIS frames take: they are ASCII, Korean names aside). */
static inline Py_ALWAYS_INLINE PyObject *
split_kind(PyObject *payload, int kind, const char *codes, Py_ssize_t count, PyObject *signs)
{
    const void *data = PyUnicode_DATA(payload);
    Py_ssize_t length = PyUnicode_GET_LENGTH(payload), start = 0, end = -1;
    PyObject *values = PyList_New(count);
    if (values == NULL)
        return NULL;
    for (Py_ssize_t n = 0; n < count; n++) {
        if (end == length) {
            PyErr_Format(PyExc_ValueError, "%zd fields, not %zd", n, count);
            goto fail;
        }
        end = next_caret(kind, data, start, length);
        PyObject *value = read_field(payload, kind, data, codes[n], start, end, signs);
        if (value == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "field %zd (kind %c): not for the fast path", n, codes[n]);
            goto fail;
        }
        PyList_SET_ITEM(values, n, value);
        start = end + 1;
    }
    if (end != length) {
        PyErr_Format(PyExc_ValueError, "more than %zd fields", count);
        goto fail;
    }
    return values;
fail:
    Py_DECREF(values); /* the fields read so far; the slots not yet set are NULL, which list_dealloc skips */
    return NULL;
}

static PyObject *
split(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "split() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *payload = args[0], *kinds = args[1], *signs = args[2];
    if (!PyUnicode_Check(payload) || !PyBytes_Check(kinds) || !PyTuple_Check(signs)
        || PyTuple_GET_SIZE(signs) != 6) {
        PyErr_SetString(PyExc_TypeError, "split(payload: str, kinds: bytes, signs: tuple of 6 signs)");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(payload) < 0) /* a legacy string of the old wchar API, before 3.12 */
        return NULL;
#endif
    const char *codes = PyBytes_AS_STRING(kinds);
    Py_ssize_t count = PyBytes_GET_SIZE(kinds);
    if (count == 0) { /* every payload, "" too, has at least one field */
        PyErr_SetString(PyExc_ValueError, "1 field or more, not 0");
        return NULL;
    }
    switch (PyUnicode_KIND(payload)) {
    case PyUnicode_1BYTE_KIND:
        return split_kind(payload, PyUnicode_1BYTE_KIND, codes, count, signs);
    case PyUnicode_2BYTE_KIND:
        return split_kind(payload, PyUnicode_2BYTE_KIND, codes, count, signs);
    default:
        return split_kind(payload, PyUnicode_4BYTE_KIND, codes, count, signs);
    }
}

/* One side of a book in order, as records._side_in_order defines it: the published levels (those
 * before the first empty one, 0 or None) come first, and each is `before` the next (asks rising,
 * bids falling); a price after an empty level, or NaN anywhere, is out of order. The prices of a
 * layout are all int (stock futures, KRW, int64 as the readers give them) or all float
 * (premiums, points), each compared in its own type; a side of both is TypeError (no reader
 * makes one). 1 in order, 0 not, -1 an error set. */
static int
side_in_order(PyObject *values, PyObject *levels, int rising)
{
    Py_ssize_t n = PyTuple_GET_SIZE(levels), size = PyList_GET_SIZE(values);
    int ended = 0, floats = -1; /* -1: no price seen yet */
    long long last_int = 0;
    double last_float = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(levels, i));
        if (at < 0 || at >= size) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "a level's index past the record");
            return -1;
        }
        PyObject *price = PyList_GET_ITEM(values, at);
        long long as_int = 0;
        double as_float = 0.0;
        int is_float = PyFloat_CheckExact(price);
        if (price == Py_None) {
            ended = 1; /* an empty field is an empty level, as 0 is */
            continue;
        }
        if (is_float)
            as_float = PyFloat_AS_DOUBLE(price);
        else if (PyLong_CheckExact(price)) {
            as_int = PyLong_AsLongLong(price);
            if (as_int == -1 && PyErr_Occurred())
                return -1;
        }
        else {
            PyErr_SetString(PyExc_TypeError, "a price is an int, a float or None");
            return -1;
        }
        if (floats >= 0 && floats != is_float) {
            PyErr_SetString(PyExc_TypeError, "a side of int and float prices");
            return -1;
        }
        floats = is_float;
        int empty = is_float ? as_float == 0.0 : as_int == 0; /* NaN is not empty: refused below */
        if (ended || empty) {
            if (ended && !empty)
                return 0; /* a price after an empty level */
            ended = 1;
            continue;
        }
        if (is_float && isnan(as_float))
            return 0; /* NaN is no price */
        if (i > 0) { /* not ended, so every level before was a price */
            int ok = is_float ? (rising ? last_float < as_float : last_float > as_float)
                              : (rising ? last_int < as_int : last_int > as_int);
            if (!ok)
                return 0;
        }
        last_int = as_int;
        last_float = as_float;
    }
    return 1;
}

/* in_order(record, asks, bids): the book check of records.book_order in C, over a record's
 * values in wire order and the indices of its ask and bid prices from level 1. */
static PyObject *
in_order(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyList_Check(args[0]) || !PyTuple_Check(args[1]) || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "in_order(values: list, asks: tuple, bids: tuple)");
        return NULL;
    }
    int asks = side_in_order(args[0], args[1], 1);
    if (asks < 0)
        return NULL;
    int bids = asks ? side_in_order(args[0], args[2], 0) : 0;
    if (bids < 0)
        return NULL;
    return PyBool_FromLong(bids);
}

static PyMethodDef methods[] = {
    {"split", (PyCFunction)(void (*)(void))split, METH_FASTCALL,
     "split(payload, kinds, signs) -> list: the fields of payload read by kind, or ValueError."},
    {"in_order", (PyCFunction)(void (*)(void))in_order, METH_FASTCALL,
     "in_order(values, asks, bids) -> bool: a book's prices in order (records.book_order)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "kisfeed.schema._fields",
    .m_doc = "The decode fast path's field reader (records._reader): split and convert in one pass.",
    .m_size = -1, /* no state: split reads only its arguments */
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__fields(void)
{
    return PyModule_Create(&module);
}
