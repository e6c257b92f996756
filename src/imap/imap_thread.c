/* THREAD without I/O (imap_sort.h): ORDEREDSUBJECT (RFC 5256 section
 * 5.1) and REFERENCES (section 5.2, after Jamie Zawinski's algorithm)
 * over the sort records of the messages a search found, and the
 * response text of section 4.  Message ids compare octet by octet,
 * subjects as the base subjects imap_sort.c makes.  Nothing recurses
 * along a thread: a chain of replies as long as the mailbox costs heap,
 * not stack.  Links that would close a loop are not made, so broken
 * References (a message its own ancestor) cannot hang it. */
#include <stdlib.h>
#include <string.h>

#include "imap/imap_sort.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

/* One container: a message (msg >= 0, an index into the items) or a
 * dummy for an id that no found message has. */
struct thr_node {
	int msg;
	int parent, child, next;	/* -1: none */
	int64_t date;		/* sort key: the message's, or its first
				 * child's for a dummy */
	uint32_t seq;
};

struct thr {
	struct imap_sort_item *v;
	struct thr_node *n;
	size_t count, cap;
	/* id (or subject) -> node */
	const char **hkey;
	int *hval;
	size_t hcap;
};

static uint64_t
thr_hash(const char *s)
{
	return str_hash64(STR_HASH64_INIT, s, strlen(s));
}

static void
thr_hash_init(struct thr *t, size_t want)
{
	t->hcap = 16;
	while (t->hcap < want * 2)
		t->hcap *= 2;
	free(t->hkey);
	free(t->hval);
	t->hkey = xcalloc(t->hcap, sizeof(*t->hkey));
	t->hval = xcalloc(t->hcap, sizeof(*t->hval));
}

/* The slot for key: its value's slot, or the empty one it would take. */
static size_t
thr_hash_slot(const struct thr *t, const char *key)
{
	size_t i = (size_t)thr_hash(key) & (t->hcap - 1);

	while (t->hkey[i] != NULL && strcmp(t->hkey[i], key) != 0)
		i = (i + 1) & (t->hcap - 1);
	return i;
}

static int
thr_new(struct thr *t, int msg)
{
	struct thr_node *x;

	if (t->count == t->cap) {
		t->cap = t->cap == 0 ? 64 : t->cap * 2;
		t->n = xreallocarray(t->n, t->cap, sizeof(*t->n));
	}
	x = &t->n[t->count];
	x->msg = msg;
	x->parent = x->child = x->next = -1;
	x->date = 0;
	x->seq = 0;
	return (int)t->count++;
}

static void
thr_unlink(struct thr *t, int c)
{
	int p = t->n[c].parent, *pp;

	if (p < 0)
		return;
	for (pp = &t->n[p].child; *pp != c; pp = &t->n[*pp].next)
		;
	*pp = t->n[c].next;
	t->n[c].parent = t->n[c].next = -1;
}

static void
thr_link(struct thr *t, int p, int c)
{
	thr_unlink(t, c);
	t->n[c].parent = p;
	t->n[c].next = t->n[p].child;
	t->n[p].child = c;
}

/* True when a is b or one of b's ancestors. */
static bool
thr_above(const struct thr *t, int a, int b)
{
	for (; b >= 0; b = t->n[b].parent)
		if (b == a)
			return true;
	return false;
}

static int
thr_id_node(struct thr *t, const char *id)
{
	size_t i = thr_hash_slot(t, id);

	if (t->hkey[i] == NULL) {
		t->hkey[i] = id;
		t->hval[i] = thr_new(t, -1);
	}
	return t->hval[i];
}

/* Step 1: containers and links from Message-ID and References. */
static void
thr_link_messages(struct thr *t, size_t n)
{
	size_t want = n;

	for (size_t i = 0; i < n; i++)
		want += t->v[i].key.nrefs;
	thr_hash_init(t, want);
	for (size_t i = 0; i < n; i++) {
		const struct imap_msgkey *k = &t->v[i].key;
		int prev = -1, self;
		size_t slot;

		for (unsigned r = 0; r < k->nrefs; r++) {
			int c = thr_id_node(t, k->refs[r]);

			if (prev >= 0 && t->n[c].parent < 0 &&
			    !thr_above(t, c, prev))
				thr_link(t, prev, c);
			prev = c;
		}
		slot = thr_hash_slot(t, k->msgid);
		if (k->msgid[0] != '\0' && t->hkey[slot] != NULL &&
		    t->n[t->hval[slot]].msg < 0)
			self = t->hval[slot];
		else {
			/* no id, or a duplicate: a container of its own */
			self = thr_new(t, (int)i);
			if (k->msgid[0] != '\0' && t->hkey[slot] == NULL) {
				t->hkey[slot] = k->msgid;
				t->hval[slot] = self;
			}
		}
		t->n[self].msg = (int)i;
		/* the last reference is the parent, whatever said otherwise
		 * before; none when that would close a loop */
		thr_unlink(t, self);
		if (prev >= 0 && !thr_above(t, self, prev))
			thr_link(t, prev, self);
	}
}

/* Step 4: dummies without children go; dummies with children give
 * them to their parent, at the top level only when there is one. */
static void
thr_prune(struct thr *t, int root)
{
	int *stack = xcalloc(t->count + 1, sizeof(*stack));
	size_t sp = 0;

	stack[sp++] = root;
	while (sp > 0) {
		int p = stack[--sp], *cp = &t->n[p].child;

		while (*cp >= 0) {
			int c = *cp, first = t->n[c].child;

			if (t->n[c].msg >= 0 || (first >= 0 && p == root &&
			    t->n[first].next >= 0)) {
				stack[sp++] = c;
				cp = &t->n[c].next;
				continue;
			}
			/* splice c's children in where c was, and look at
			 * them again (they may be dummies themselves) */
			{
				int *at = cp;

				*cp = t->n[c].next;
				for (int g = first, nx; g >= 0; g = nx) {
					nx = t->n[g].next;
					t->n[g].parent = p;
					t->n[g].next = *cp;
					*cp = g;
					cp = &t->n[g].next;
				}
				t->n[c].child = t->n[c].parent = -1;
				t->n[c].next = -1;
				cp = at;
			}
		}
	}
	free(stack);
}

static int
thr_cmp_node(const void *a, const void *b, void *arg)
{
	const struct thr *t = arg;
	const struct thr_node *x = &t->n[*(const int *)a];
	const struct thr_node *y = &t->n[*(const int *)b];

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Steps 6 and 7: children by date, bottom up (a dummy sorts as its
 * first child). */
static void
thr_sort(struct thr *t, int root)
{
	int *order = xcalloc(t->count + 1, sizeof(*order));
	int *kids = xcalloc(t->count + 1, sizeof(*kids));
	size_t no = 0;

	order[no++] = root;
	for (size_t i = 0; i < no; i++)
		for (int c = t->n[order[i]].child; c >= 0; c = t->n[c].next)
			order[no++] = c;
	for (size_t i = no; i-- > 0;) {
		struct thr_node *x = &t->n[order[i]];
		size_t nk = 0;

		for (int c = x->child; c >= 0; c = t->n[c].next)
			kids[nk++] = c;
		if (nk > 1)
			qsort_r(kids, nk, sizeof(*kids), thr_cmp_node, t);
		x->child = nk > 0 ? kids[0] : -1;
		for (size_t k = 0; k < nk; k++)
			t->n[kids[k]].next = k + 1 < nk ? kids[k + 1] : -1;
		if (x->msg >= 0) {
			const struct imap_sort_item *it = &t->v[x->msg];

			x->date = it->key.has_date ? it->key.date :
			    (int64_t)it->internaldate;
			x->seq = it->seq;
		} else if (nk > 0) {
			x->date = t->n[kids[0]].date;
			x->seq = t->n[kids[0]].seq;
		}
	}
	free(order);
	free(kids);
}

/* The message a top-level container shows its subject with. */
static const struct imap_msgkey *
thr_subject_of(const struct thr *t, int c)
{
	if (t->n[c].msg < 0)
		c = t->n[c].child;
	return c >= 0 && t->n[c].msg >= 0 ? &t->v[t->n[c].msg].key : NULL;
}

static bool
thr_replace_in_table(const struct thr *t, int old, int c)
{
	const struct imap_msgkey *ko = thr_subject_of(t, old);
	const struct imap_msgkey *kc = thr_subject_of(t, c);

	if (t->n[old].msg >= 0 && t->n[c].msg < 0)
		return true;
	return t->n[old].msg >= 0 && ko->reply && !kc->reply;
}

/* Step 5: top-level threads with the same base subject are joined. */
static void
thr_by_subject(struct thr *t, int root)
{
	size_t nroots = 0;
	int *roots;

	for (int c = t->n[root].child; c >= 0; c = t->n[c].next)
		nroots++;
	roots = xcalloc(nroots + 1, sizeof(*roots));
	nroots = 0;
	for (int c = t->n[root].child; c >= 0; c = t->n[c].next)
		roots[nroots++] = c;
	/* the first child of a dummy must be its earliest */
	thr_sort(t, root);
	thr_hash_init(t, nroots);
	for (size_t i = 0; i < nroots; i++) {
		const struct imap_msgkey *k = thr_subject_of(t, roots[i]);
		size_t s;

		if (k == NULL || k->subject[0] == '\0')
			continue;
		s = thr_hash_slot(t, k->subject);
		if (t->hkey[s] == NULL) {
			t->hkey[s] = k->subject;
			t->hval[s] = roots[i];
		} else if (thr_replace_in_table(t, t->hval[s], roots[i]))
			t->hval[s] = roots[i];
	}
	for (size_t i = 0; i < nroots; i++) {
		int c = roots[i], old, d;
		const struct imap_msgkey *k = thr_subject_of(t, c);
		size_t s;

		if (k == NULL || k->subject[0] == '\0')
			continue;
		s = thr_hash_slot(t, k->subject);
		old = t->hval[s];
		if (old == c)
			continue;
		if (t->n[old].msg < 0 && t->n[c].msg < 0) {
			while (t->n[c].child >= 0)
				thr_link(t, old, t->n[c].child);
			thr_unlink(t, c);
		} else if (t->n[old].msg < 0)
			thr_link(t, old, c);
		else if (t->n[c].msg >= 0 && k->reply &&
		    !t->v[t->n[old].msg].key.reply)
			thr_link(t, old, c);
		else {
			d = thr_new(t, -1);
			thr_link(t, root, d);
			thr_link(t, d, old);
			thr_link(t, d, c);
			t->hval[s] = d;
		}
	}
	free(roots);
}

enum thr_out { THR_NODE, THR_OPEN, THR_CLOSE, THR_SPACE };

struct thr_op {
	enum thr_out op;
	int node;
};

/* Section 4's syntax, for each child of root. */
static void
thr_format(const struct thr *t, int root, bool uid, struct fbuf *out)
{
	struct thr_op *st = xcalloc(4 * t->count + 8, sizeof(*st));
	size_t sp = 0;

	for (int r = t->n[root].child; r >= 0; r = t->n[r].next) {
		st[sp++] = (struct thr_op){ THR_CLOSE, -1 };
		st[sp++] = (struct thr_op){ THR_NODE, r };
		st[sp++] = (struct thr_op){ THR_OPEN, -1 };
		while (sp > 0) {
			struct thr_op o = st[--sp];
			const struct thr_node *x;
			size_t nk = 0;

			if (o.op != THR_NODE) {
				fbuf_addc(out, o.op == THR_OPEN ? '(' :
				    o.op == THR_CLOSE ? ')' : ' ');
				continue;
			}
			x = &t->n[o.node];
			if (x->msg >= 0)
				fbuf_addf(out, "%u", uid ? t->v[x->msg].uid :
				    t->v[x->msg].seq);
			for (int c = x->child; c >= 0; c = t->n[c].next)
				nk++;
			if (nk == 1 && x->msg >= 0) {
				st[sp++] = (struct thr_op){ THR_NODE,
				    x->child };
				st[sp++] = (struct thr_op){ THR_SPACE, -1 };
				continue;
			}
			/* pushed in reverse so they come out in order */
			sp += 3 * nk;
			for (int c = x->child, i = 0; c >= 0;
			    c = t->n[c].next, i++) {
				size_t at = sp - 1 - 3 * (size_t)i;

				st[at] = (struct thr_op){ THR_OPEN, -1 };
				st[at - 1] = (struct thr_op){ THR_NODE, c };
				st[at - 2] = (struct thr_op){ THR_CLOSE, -1 };
			}
			if (nk > 0 && x->msg >= 0)
				st[sp++] = (struct thr_op){ THR_SPACE, -1 };
		}
	}
	free(st);
}

static int
thr_cmp_subject(const void *a, const void *b)
{
	const struct imap_sort_item *x = a, *y = b;
	int r = strcmp(x->key.subject, y->key.subject);
	int64_t dx = x->key.has_date ? x->key.date : (int64_t)x->internaldate;
	int64_t dy = y->key.has_date ? y->key.date : (int64_t)y->internaldate;

	if (r != 0)
		return r;
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Section 5.1: by base subject; the first of each subject (by date) is
 * the parent of all the others. */
static void
thr_orderedsubject(struct thr *t, size_t n, int root)
{
	int parent = -1;

	qsort(t->v, n, sizeof(*t->v), thr_cmp_subject);
	for (size_t i = 0; i < n; i++) {
		int x = thr_new(t, (int)i);

		if (i > 0 && strcmp(t->v[i].key.subject,
		    t->v[i - 1].key.subject) == 0)
			thr_link(t, parent, x);
		else {
			thr_link(t, root, x);
			parent = x;
		}
	}
}

void
imap_thread_build(enum imap_thread_alg alg, struct imap_sort_item *v,
    size_t n, bool uid, struct fbuf *out)
{
	struct thr t;
	int root;

	if (n == 0)
		return;
	memset(&t, 0, sizeof(t));
	t.v = v;
	root = thr_new(&t, -1);
	if (alg == IMAP_THREAD_ORDEREDSUBJECT)
		thr_orderedsubject(&t, n, root);
	else {
		thr_link_messages(&t, n);
		for (size_t i = 1; i < t.count; i++)
			if (t.n[i].parent < 0)
				thr_link(&t, root, (int)i);
		thr_prune(&t, root);
		thr_by_subject(&t, root);
	}
	thr_sort(&t, root);
	thr_format(&t, root, uid, out);
	free(t.n);
	free(t.hkey);
	free(t.hval);
}
