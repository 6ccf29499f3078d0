/* Readable names for the types of a metadata registry ("Vec<u8>", "AccountId32", "(u32, u64)"),
 * for messages and summaries. See ferry_md_type_name in include/ferry/metadata.h. */
#include <stdio.h>
#include <string.h>

#include "ferry/metadata.h"

/* Types one ferry_md_type_name call may visit: the depth limit alone lets a hostile registry (a
 * tuple of 200 copies of itself) cost 200^6 visits. Real names need a few dozen. */
#define NAME_VISITS 256

static void name_into(const struct ferry_metadata *md, uint32_t id, char *buf, size_t cap,
                      int depth, unsigned *visits);

static void appendf(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 < cap)
        snprintf(buf + n, cap - n, "%s", s);
}

static void append_name(const struct ferry_metadata *md, uint32_t id, char *buf, size_t cap,
                        int depth, unsigned *visits)
{
    char tmp[256];
    tmp[0] = 0;
    name_into(md, id, tmp, sizeof tmp, depth + 1, visits);
    appendf(buf, cap, tmp);
}

static void name_into(const struct ferry_metadata *md, uint32_t id, char *buf, size_t cap,
                      int depth, unsigned *visits)
{
    static const char *const prims[] = {"bool", "char", "str", "u8",  "u16", "u32",  "u64", "u128",
                                        "u256", "i8",   "i16", "i32", "i64", "i128", "i256"};
    const struct ferry_md_type *t = ferry_md_type(md, id);
    buf[0] = 0;
    if (!t || depth > 6 || *visits == 0) {
        appendf(buf, cap, "…");
        return;
    }
    (*visits)--;
    if (t->n_path) {
        appendf(buf, cap, t->path[t->n_path - 1]);
        bool first = true;
        for (size_t i = 0; i < t->n_params; i++) {
            if (!t->params[i].has_type)
                continue;
            appendf(buf, cap, first ? "<" : ", ");
            append_name(md, t->params[i].type, buf, cap, depth, visits);
            first = false;
        }
        if (!first)
            appendf(buf, cap, ">");
        return;
    }
    char num[32];
    switch (t->kind) {
    case FERRY_MD_PRIMITIVE:
        appendf(buf, cap, prims[t->prim]);
        break;
    case FERRY_MD_SEQUENCE:
        appendf(buf, cap, "Vec<");
        append_name(md, t->elem, buf, cap, depth, visits);
        appendf(buf, cap, ">");
        break;
    case FERRY_MD_COMPACT:
        appendf(buf, cap, "Compact<");
        append_name(md, t->elem, buf, cap, depth, visits);
        appendf(buf, cap, ">");
        break;
    case FERRY_MD_ARRAY:
        appendf(buf, cap, "[");
        append_name(md, t->elem, buf, cap, depth, visits);
        snprintf(num, sizeof num, "; %u]", t->array_len);
        appendf(buf, cap, num);
        break;
    case FERRY_MD_TUPLE:
        appendf(buf, cap, "(");
        for (size_t i = 0; i < t->n_tuple; i++) {
            if (i)
                appendf(buf, cap, ", ");
            append_name(md, t->tuple[i], buf, cap, depth, visits);
        }
        appendf(buf, cap, ")");
        break;
    case FERRY_MD_BITSEQ:
        appendf(buf, cap, "BitVec");
        break;
    default:
        snprintf(num, sizeof num, "type#%u", id);
        appendf(buf, cap, num);
    }
}

char *ferry_md_type_name(const struct ferry_metadata *md, uint32_t type, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    unsigned visits = NAME_VISITS;
    name_into(md, type, buf, cap, 0, &visits);
    return buf;
}
