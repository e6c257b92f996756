/* The mail transaction of a session: opening the spool file at DATA or
 * the first BDAT, the Received header (RFC 5321 4.4), streaming decoded
 * content into the spool, the end-of-data checks, and the commit on a
 * worker thread.  250 is sent only after the message is durable
 * (DESIGN.md rule 1), in one of two ways:
 *
 * - direct local delivery (direct_delivery = yes, the default): when
 *   every recipient is a local mailbox (aliases were expanded at RCPT)
 *   that still exists and there are at most SMTP_DIRECT_MAX of them, the
 *   content is delivered from spool/tmp/ straight into each Maildir
 *   (file fdatasynced, renamed into new/, new/ fsynced) and the spool
 *   file is dropped unsynced: 2 syncs per recipient instead of the
 *   spool's 3 plus 2.  A recipient that cannot be delivered this way
 *   (quota reached since RCPT, a write error) does not fail the message:
 *   it is queued like any other, with the delivered recipients recorded
 *   as done, so the queue retries, defers or bounces only that one.
 * - the spool: content and envelope are fsynced and renamed into the
 *   queue and the directory is fsynced (spool_writer_commit); the queue
 *   role delivers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/strutil.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/maildir.h"
#include "mailbox/mbox.h"
#include "mailbox/quota_warn.h"
#include "mime/mime.h"
#include "msgauth/dkim_keys.h"
#include "msgauth/arc.h"
#include "queue/queue_dmarc_in.h"
#include "msgauth/dkim_verify.h"
#include "queue/queue_notify.h"
#include "queue/spool.h"
#include "store/store.h"
#include "smtp/smtp_parser.h"
#include "policy/policy.h"
#include "smtp/smtp_policy.h"
#include "smtp/smtpd_private.h"

/* Most recipients delivered before 250 (each costs two syncs); a message
 * for more goes through the spool. */
#define SMTP_DIRECT_MAX 10

struct smtp_commit {
	struct smtp_session *s;
	struct spool_writer *writer;
	struct spool_env env;
	const char *state_dir;		/* the conf's; outlives the job */
	const char *spam_folder;	/* the conf's too */
	const char *hostname;		/* likewise (quota warnings) */
	int rc, err;
	/* DATA checks added headers or a Subject prefix: the content is
	 * rewritten before the commit (spool_writer_rewrite).  insert: the
	 * headers alone, and the message may be delivered directly: they
	 * are put in as the Maildir copies are written, and the spool file
	 * is rewritten only if the message goes to the spool after all. */
	bool rewrite, insert;
	uint64_t head;
	struct fbuf hdr;
	char subject_prefix[64];
	/* Direct local delivery: quota per recipient (env.rcpts order);
	 * NULL when the message goes to the spool.  delivered: how many
	 * recipients the direct path delivered; queued: whether the
	 * message (or what is left of it) went into the spool. */
	uint64_t *quota;
	struct store_pool *stores;	/* the store, for quota[] */
	/* quota[] as RCPT read it, and the store generation it was read
	 * under (gen_ok: known): still true while the store shows it. */
	uint64_t gen;
	bool gen_ok;
	/* DKIM: the signer (NULL: no signing), the signatures it made. */
	struct dkim_signer *signer;
	int signed_n;
	/* outbound_checks: the held spam to count (NULL: none). */
	struct smtp_send_note *note;
	/* ARC: the seal to make (NULL: none). */
	struct smtp_arc_seal *arc;
	size_t delivered;
	size_t over_quota;		/* recipients the message cannot fit */
	bool queued;
};

struct smtp_tx *
smtp_tx_new(void)
{
	struct smtp_tx *tx = xcalloc(1, sizeof(*tx));

	fbuf_init(&tx->out, 0);
	fbuf_init(&tx->from, 0);
	fbuf_init(&tx->authres, 0);
	fbuf_init(&tx->held, SMTP_HEADER_MAX);
	return tx;
}

void
smtp_tx_free(struct smtp_tx **txp)
{
	struct smtp_tx *tx = *txp;

	if (tx == NULL)
		return;
	if (tx->writer != NULL)
		spool_writer_abort(&tx->writer);
	for (size_t i = 0; i < tx->nrcpts; i++) {
		free(tx->rcpts[i].orig);
		free(tx->rcpts[i].addr);
	}
	free(tx->rcpts);
	fbuf_release(&tx->out);
	fbuf_release(&tx->from);
	mime_header_parser_free(&tx->hp);
	dkim_signer_free(&tx->signer);
	dkim_keyfetch_abort(&tx->kfetch);
	smtp_dmarc_free(&tx->dmarc);
	dkim_verifier_free(&tx->verifier);
	arc_keyfetch_abort(&tx->arc_kfetch);
	arc_verifier_free(&tx->arc);
	dkim_bodies_free(&tx->bodies);
	fbuf_release(&tx->authres);
	fbuf_release(&tx->held);
	free(tx->drop);
	free(tx);
	*txp = NULL;
}

/* RFC 3848 / RFC 6531 3.7.3 "with" keywords: S for TLS, A for AUTH. */
static const char *
smtp_tx_protocol(const struct smtp_session *s)
{
	static const char *const names[2][4] = {
		{ "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" },
		{ "UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA" },
	};
	int i = (s->tls ? 1 : 0) + (s->auth_user[0] != '\0' ? 2 : 0);

	if (!s->esmtp && !s->tx->smtputf8)
		return i == 0 ? "SMTP" : names[0][i];
	return names[s->tx->smtputf8 ? 1 : 0][i];
}

static void
smtp_tx_received(struct smtp_session *s, struct fbuf *b)
{
	struct smtp_tx *tx = s->tx;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	fbuf_addf(b, "Received: from %s ([%s])\r\n", s->helo, s->addr);
	if (s->tls)
		fbuf_addf(b, "\t(version=%s cipher=%s)\r\n", s->tls_version,
		    s->tls_cipher);
	fbuf_addf(b, "\tby %s (Ferry) with %s id %s", s->conf->hostname,
	    smtp_tx_protocol(s), tx->id);
	if (tx->nrcpts == 1)
		fbuf_addf(b, "\r\n\tfor <%s>", tx->rcpts[0].orig);
	fbuf_addf(b, "; %s\r\n", date);
}

int
smtp_tx_open(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct fbuf hdr;
	int r;

	if (spool_writer_open(&tx->writer, s->srv->spool_dir) < 0)
		return -1;
	snprintf(tx->id, sizeof(tx->id), "%s", spool_writer_id(tx->writer));
	smtp_header_start(tx);
	/* Mail of a client that may relay (authenticated, or from
	 * relay_networks) is signed when its From domain has a key. */
	if (s->relay_ok && s->conf->dkim_sign)
		tx->signer = dkim_signer_new(s->srv->dkim);
	smtp_authres_start(s);
	smtp_dmarc_start(s);
	smtp_data_init(&tx->dec, s->conf->smtp_max_text_line);
	fbuf_init(&hdr, 0);
	smtp_tx_received(s, &hdr);
	/* Headers the checks added (X-DNSBL, Received-SPF) follow the
	 * Received header they belong to. */
	tx->pol_hdr_len = smtp_policy_headers(s->pol)->len;
	if (tx->pol_hdr_len > 0)
		fbuf_add(&hdr, smtp_policy_headers(s->pol)->data,
		    tx->pol_hdr_len);
	tx->head_len = hdr.len;
	r = spool_writer_write(tx->writer, hdr.data, hdr.len);
	fbuf_release(&hdr);
	if (r < 0)
		spool_writer_abort(&tx->writer);
	return r;
}

void
smtp_tx_write(struct smtp_tx *tx, const char *data, size_t n)
{
	if (n > 0 && !tx->write_failed && !tx->too_big && tx->writer != NULL &&
	    spool_writer_write(tx->writer, data, n) < 0) {
		tx->write_failed = true;
		tx->write_errno = errno;
		/* The rest of the content is read and dropped; what was
		 * written goes now, not at the end of DATA, so that a full
		 * disk gets its space back at once (the file itself goes
		 * with the transaction). */
		spool_writer_discard(tx->writer);
	}
}

/* The verifiers take their header fields from the transaction's parser
 * (smtp_header.c): one parse of the section for all three.  Once it
 * has ended (or the content has), they learn so. */
static void
smtp_tx_header_ended(struct smtp_tx *tx)
{
	if (tx->verifier != NULL && !dkim_verifier_ended_header(tx->verifier))
		dkim_verifier_header_end(tx->verifier);
	if (tx->arc != NULL && !arc_verifier_ended_header(tx->arc))
		arc_verifier_header_end(tx->arc, smtp_header_too_big(tx));
}

void
smtp_tx_flush(struct smtp_tx *tx, uint64_t limit)
{
	const char *body = tx->out.data;
	size_t hn, n = tx->out.len;

	if (tx->out.len == 0)
		return;
	hn = smtp_header_feed(tx, tx->out.data, tx->out.len);
	if (limit != 0 && tx->dec.size > limit)
		tx->too_big = true;
	if (tx->signer != NULL && !tx->too_big)
		dkim_signer_feed(tx->signer, tx->out.data, tx->out.len);
	/* The verifiers get the body alone: hn octets of this piece were
	 * header, or all of it while the header goes on. */
	if (smtp_header_ended(tx)) {
		smtp_tx_header_ended(tx);
		body += hn;
		n -= hn;
	} else
		n = 0;
	if (n > 0 && tx->verifier != NULL && !tx->too_big)
		dkim_verifier_feed(tx->verifier, body, n);
	if (n > 0)
		smtp_arc_feed(tx, body, n);
	smtp_authres_write(tx, tx->out.data, tx->out.len, hn);
	fbuf_reset(&tx->out);
}

/* The reply for content that cannot be accepted, or NULL. */
static const char *
smtp_tx_check(struct smtp_session *s, int *code_r, char *buf, size_t size)
{
	struct smtp_tx *tx = s->tx;
	const char *reply;

	*code_r = 550;
	smtp_header_end(tx);
	smtp_tx_header_ended(tx);
	smtp_authres_release(tx);
	if (tx->write_failed) {
		smtpd_disk_failed(s->srv, tx->write_errno);
		*code_r = 452;
		return "452 4.3.1 Insufficient system storage";
	}
	if (tx->too_big) {
		*code_r = 552;
		return "552 5.3.4 Message size exceeds fixed limit";
	}
	if (tx->dec.bare_lf || tx->dec.bare_cr)
		return "550 5.5.2 Message contains bare CR or LF line "
		    "endings; use CRLF";
	if (tx->dec.long_line)
		return "550 5.5.2 Message contains a line longer than "
		    "allowed (RFC 5321 section 4.5.3.1.6)";
	if (tx->dec.has_nul)
		return "550 5.6.0 Message contains NUL octets";
	if ((reply = smtp_header_check_hops(s, buf, size)) != NULL) {
		*code_r = (int)strtol(reply, NULL, 10);
		return reply;
	}
	if (tx->check_from && smtp_header_too_big(tx)) {
		*code_r = 553;
		return "553 5.7.1 Header section too large";
	}
	return NULL;
}

static void
smtp_tx_fill_env(struct smtp_session *s, struct spool_env *env)
{
	struct smtp_tx *tx = s->tx;

	memset(env, 0, sizeof(*env));
	env->arrival = time(NULL);
	env->sender = xstrdup(tx->sender);
	env->client_addr = xstrdup(s->addr);
	env->client_helo = xstrdup(s->helo);
	env->protocol = xstrdup(smtp_tx_protocol(s));
	if (s->auth_user[0] != '\0')
		env->auth_user = xstrdup(s->auth_user);
	env->rcpts = xcalloc(tx->nrcpts, sizeof(*env->rcpts));
	env->nrcpts = tx->nrcpts;
	for (size_t i = 0; i < tx->nrcpts; i++) {
		env->rcpts[i].orig = xstrdup(tx->rcpts[i].orig);
		env->rcpts[i].addr = xstrdup(tx->rcpts[i].addr);
		env->rcpts[i].local = tx->rcpts[i].local;
		env->rcpts[i].state = SPOOL_RCPT_PENDING;
	}
}

/* One recipient of the direct path: 0 delivered, -1 left for the queue
 * (logged; the queue will say what becomes of it). */
static int
smtp_tx_deliver_one(struct smtp_commit *c, struct spool_rcpt *r,
    uint64_t quota, int fd)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *rel, *folder;

	if (maildir_path(c->state_dir, r->addr, path, sizeof(path)) < 0)
		return -1;
	rel = path + strlen(c->state_dir) + 1;
	folder = mbox_delivery_dir(path, c->spam_folder, c->env.spam, dir,
	    sizeof(dir));
	if (maildir_deliver_mail_ins(path, folder, c->env.sender, r->addr, fd,
	    c->head, c->insert ? c->hdr.data : NULL, c->insert ? c->hdr.len :
	    0, quota) == 0) {
		r->state = SPOOL_RCPT_DONE;
		log_info("%s smtp delivered rcpt=%s mailbox=%s result=sent",
		    c->env.id, log_q(r->addr), log_q(rel));
		quota_warn_check(c->env.id, path, r->addr, quota, c->hostname);
		return 0;
	}
	if (errno == EDQUOT) {
		/* Not full at RCPT, but this message does not fit: it
		 * never will unless the user deletes mail, so no retries
		 * for days.  Refused at once when it is every recipient
		 * (smtp_tx_commit_work), else bounced at once. */
		char why[160];

		snprintf(why, sizeof(why), "5.2.2 mailbox full: the message "
		    "(%llu bytes) does not fit in the quota of %llu bytes",
		    (unsigned long long)c->env.size,
		    (unsigned long long)quota);
		r->state = SPOOL_RCPT_FAILED;
		free(r->last_error);
		r->last_error = xstrdup(why);
		c->over_quota++;
		log_info("%s smtp over-quota rcpt=%s mailbox=%s size=%llu "
		    "quota=%llu", c->env.id, log_q(r->addr), log_q(rel),
		    (unsigned long long)c->env.size,
		    (unsigned long long)quota);
		return -1;
	}
	log_warn("%s smtp direct-delivery-failed rcpt=%s mailbox=%s "
	    "reason=%s queued=yes", c->env.id, log_q(r->addr), log_q(rel),
	    log_q(errno == EDQUOT ? "mailbox full" : strerror(errno)));
	return -1;
}

/* Delivers every recipient straight from the spool's tmp/ file; true
 * when all of them were. */
static bool
smtp_tx_deliver_direct(struct smtp_commit *c)
{
	int fd;

	str_lcpy(c->env.id, spool_writer_id(c->writer), sizeof(c->env.id));
	c->env.size = spool_writer_size(c->writer) + (c->insert ? c->hdr.len :
	    0);
	if ((fd = spool_writer_content_fd(c->writer)) < 0) {
		log_warn("%s smtp direct-delivery-failed reason=%s queued=yes",
		    c->env.id, log_q(strerror(errno)));
		return false;
	}
	for (size_t i = 0; i < c->env.nrcpts; i++)
		if (smtp_tx_deliver_one(c, &c->env.rcpts[i], c->quota[i],
		    fd) == 0)
			c->delivered++;
	return c->delivered == c->env.nrcpts;
}

/* On the worker, before a direct delivery: makes quota[] each
 * recipient's quota as the store says now, so a user deleted or a quota
 * changed since RCPT is seen (a deleted user's mail goes to the queue,
 * which bounces it, instead of recreating the mailbox).  When the
 * store's change counter still shows the generation RCPT read under,
 * nothing changed and quota[] (from RCPT) stands; else the users are
 * read again with the worker thread's own connection (store_pool_conn).
 * False (the spool then) when a user is gone, has turned a vacation
 * reply on, or the store cannot say. */
static bool
smtp_tx_direct_quota(struct smtp_commit *c)
{
	struct store *conn = store_pool_conn(c->stores);
	struct store_user u;
	uint64_t gen;

	if (conn == NULL)
		return false;
	/* Nothing changed in the store since RCPT: the users are there
	 * with the quotas RCPT saw (smtp_tx_commit filled quota[]). */
	if (c->gen_ok && store_generation(conn, &gen) == 0 && gen == c->gen)
		return true;
	for (size_t i = 0; i < c->env.nrcpts; i++) {
		if (store_user_get(conn, c->env.rcpts[i].addr, &u) != 1 ||
		    u.vacation)
			return false;
		explicit_bzero(u.password_hash, sizeof(u.password_hash));
		c->quota[i] = u.quota;
	}
	return true;
}

/* On the worker: the DKIM-Signature fields go first among the added
 * headers (RSA signing costs about a millisecond: never on the loop). */
static void
smtp_tx_sign(struct smtp_commit *c)
{
	struct fbuf sigs;

	fbuf_init(&sigs, 0);
	c->signed_n = dkim_signer_finish(c->signer, time(NULL), &sigs);
	if (c->signed_n > 0) {
		fbuf_add(&sigs, c->hdr.data, c->hdr.len);
		fbuf_release(&c->hdr);
		c->hdr = sigs;
		c->rewrite = true;
	} else
		fbuf_release(&sigs);
}

/* On the worker: the new ARC set goes on top (RFC 8617 says nothing
 * about the order; on top is where readers look). */
static void
smtp_tx_arc_seal(struct smtp_commit *c)
{
	struct fbuf set;

	fbuf_init(&set, 0);
	if (smtp_arc_seal_run(c->arc, &set) == 0) {
		fbuf_add(&set, c->hdr.data, c->hdr.len);
		fbuf_release(&c->hdr);
		c->hdr = set;
		c->rewrite = true;
	} else
		fbuf_release(&set);
}

/* On the worker: the headers (and Subject prefix) the end of DATA
 * added go into the spool file.  0, or -1 with the commit failed. */
static int
smtp_tx_rewrite(struct smtp_commit *c)
{
	if (spool_writer_rewrite(c->writer, c->head, c->hdr.data, c->hdr.len,
	    c->subject_prefix) == 0) {
		c->insert = false;
		return 0;
	}
	c->rc = -1;
	c->err = errno;
	spool_writer_abort(&c->writer);
	return -1;
}

static void
smtp_tx_commit_work(void *arg)
{
	struct smtp_commit *c = arg;

	if (c->signer != NULL)
		smtp_tx_sign(c);
	if (c->arc != NULL)
		smtp_tx_arc_seal(c);

	c->insert = c->rewrite && c->quota != NULL &&
	    c->subject_prefix[0] == '\0';
	if (c->rewrite && !c->insert && smtp_tx_rewrite(c) < 0)
		return;
	if (c->note != NULL)
		smtp_send_outbound_work(c->note);
	if (c->quota != NULL && smtp_tx_direct_quota(c) &&
	    (smtp_tx_deliver_direct(c) || c->over_quota == c->env.nrcpts)) {
		/* Every copy is durable in its Maildir (or none could take
		 * it: 552): the spool file was only a buffer, never
		 * synced, and serves the next message. */
		spool_writer_recycle(&c->writer);
		c->rc = 0;
		return;
	}
	/* Some or all recipients go to the queue: the spool file gets the
	 * headers now.  (Failing here after a partial direct delivery
	 * makes the client send again: duplicates for those delivered,
	 * which rule 1 allows, as after a crash.) */
	if (c->insert && smtp_tx_rewrite(c) < 0)
		return;
	c->queued = true;
	c->rc = spool_writer_commit(&c->writer, &c->env);
	c->err = errno;
	/* Waking the queue may wait for it to read: done here, off the loop. */
	if (c->rc == 0)
		queue_notify(c->state_dir, c->env.id);
}

static void
smtp_tx_commit_done(void *arg)
{
	struct smtp_commit *c = arg;
	struct smtp_session *s = c->s;

	s->busy = false;
	if (c->signed_n > 0)
		log_info("%s smtp dkim-signed id=%s domain=%s signatures=%d",
		    s->id, c->env.id, log_q(dkim_signer_domain(c->signer)),
		    c->signed_n);
	dkim_signer_free(&c->signer);
	smtp_arc_seal_done(s, c->env.id, &c->arc);
	smtp_send_outbound_done(&c->note, s->id, c->env.id, c->rc == 0);
	if (c->rc == 0 && c->quota != NULL && c->env.nrcpts > 0 &&
	    c->over_quota == c->env.nrcpts) {
		log_info("%s smtp reject stage=data code=552 dsn=5.2.2 "
		    "id=%s reason=\"message does not fit in the recipients' "
		    "quota\"", s->id, c->env.id);
		metrics_smtp_refused("quota", 552);
		if (!s->dead)
			smtp_session_reply(s, "552 5.2.2 Mailbox full: the "
			    "message does not fit in the recipient's quota");
	} else if (c->rc == 0) {
		log_info("%s smtp accepted id=%s from=<%s> rcpts=%zu size=%llu "
		    "delivered=%zu queued=%s", s->id, c->env.id,
		    c->env.sender, c->env.nrcpts,
		    (unsigned long long)c->env.size, c->delivered,
		    c->queued ? "yes" : "no");
		s->messages++;
		metrics_inc(&metrics_shm->smtp_accepted);
		metrics_add(&metrics_shm->smtp_accepted_rcpts, c->env.nrcpts);
		metrics_add(&metrics_shm->deliveries[METRICS_DEST_LOCAL]
		    [METRICS_DELIVERED], c->delivered);
		smtpd_disk_used(s->srv, c->env.size * (c->delivered +
		    (c->queued ? 1 : 0)));
		if (!s->dead)
			smtp_session_reply(s, "250 2.0.0 Ok: queued as %s",
			    c->env.id);
	} else {
		errno = c->err;
		log_warn("%s smtp commit-failed id=%s reason=%s", s->id,
		    c->env.id, log_q(strerror(c->err)));
		smtpd_disk_failed(s->srv, c->err);
		if (!s->dead)
			smtp_session_reply(s, "452 4.3.1 Insufficient system "
			    "storage");
	}
	spool_env_free(&c->env);
	fbuf_release(&c->hdr);
	free(c->quota);
	free(c);
	if (!s->dead) {
		smtp_tx_free(&s->tx);
		s->state = SMTP_STATE_READY;
	}
	smtp_session_resume(s);
}

/* What the DATA checks added: headers after those written at open,
 * and a Subject prefix. */
static void
smtp_tx_fill_rewrite(struct smtp_session *s, struct smtp_commit *c)
{
	const struct fbuf *h = smtp_policy_headers(s->pol);
	const char *prefix = smtp_policy_subject_prefix(s->pol);

	fbuf_init(&c->hdr, 0);
	/* RFC 8601 asks for Authentication-Results near the top. */
	fbuf_add(&c->hdr, s->tx->authres.data, s->tx->authres.len);
	if (h->len > s->tx->pol_hdr_len)
		fbuf_add(&c->hdr, h->data + s->tx->pol_hdr_len,
		    h->len - s->tx->pol_hdr_len);
	snprintf(c->subject_prefix, sizeof(c->subject_prefix), "%s", prefix);
	c->env.spam = smtp_policy_spam(s->pol) || smtp_dmarc_quarantine(s->tx);
	c->head = s->tx->head_len;
	c->rewrite = c->hdr.len > 0 || prefix[0] != '\0';
}

/* Direct local delivery may apply (see the comment at the top): every
 * recipient is local and there are few, none has a vacation reply on
 * and none is to read a DMARC report (the queue role does those).  Whether they still exist is
 * asked on the worker (smtp_tx_direct_quota). */
static bool
smtp_tx_direct_ok(struct smtp_session *s)
{
	const struct smtp_tx *tx = s->tx;

	if (!s->conf->direct_delivery || tx->nrcpts == 0 ||
	    tx->nrcpts > SMTP_DIRECT_MAX)
		return false;
	for (size_t i = 0; i < tx->nrcpts; i++)
		if (!tx->rcpts[i].local || tx->rcpts[i].vacation ||
		    queue_dmarc_in_wanted(s->conf, tx->rcpts[i].addr,
		    tx->dmarc_report))
			return false;
	return true;
}

static void
smtp_tx_commit(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct smtp_commit *c;

	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->state_dir = s->conf->state_dir;
	c->spam_folder = s->conf->spam_folder;
	c->hostname = s->conf->hostname;
	c->writer = tx->writer;
	tx->writer = NULL;
	smtp_tx_fill_env(s, &c->env);
	smtp_tx_fill_rewrite(s, c);
	c->note = smtp_send_outbound(s, &c->env);
	c->signer = tx->signer;
	tx->signer = NULL;
	c->arc = smtp_arc_seal_prepare(s);
	/* Held spam goes to the spool, never straight to a mailbox. */
	if (c->note == NULL && smtp_tx_direct_ok(s)) {
		c->quota = xcalloc(tx->nrcpts, sizeof(*c->quota));
		c->stores = s->srv->env->stores;
		for (size_t i = 0; i < tx->nrcpts; i++)
			c->quota[i] = tx->rcpts[i].quota;
		c->gen = tx->rcpt_gen;
		c->gen_ok = tx->rcpt_gen_ok &&
		    smtp_cache_current(s->srv, s->conf, tx->rcpt_gen);
	}
	s->busy = true;
	workpool_submit(s->srv->env->pool, smtp_tx_commit_work,
	    smtp_tx_commit_done, c);
}

static void
smtp_tx_checked(struct smtp_session *s, const struct policy_result *r)
{
	if (r->verdict == POLICY_REJECT || r->verdict == POLICY_TEMPFAIL) {
		smtp_policy_reply(s, r, NULL);
		smtp_tx_free(&s->tx);
		if (s->state != SMTP_STATE_QUIT)
			s->state = SMTP_STATE_READY;
		return;
	}
	smtp_tx_commit(s);
}

/* The DATA checks (clamd, spamd) read the spooled file: flushed first.
 * 1 when there is nothing to check (or the spool failed: the commit
 * then reports it), 0 when the session waits for the checks. */
static int
smtp_tx_check_content(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	char path[PATH_MAX];

	if (spool_writer_flush(tx->writer) < 0 ||
	    spool_writer_path(tx->writer, path, sizeof(path)) < 0)
		return 1;
	return smtp_policy_data(s->pol, path, spool_writer_size(tx->writer),
	    smtp_tx_checked);
}

static void
smtp_tx_refuse(struct smtp_session *s, const char *reply, int code,
    const char *check)
{
	struct smtp_tx *tx = s->tx;

	metrics_smtp_refused(check, code);
	log_info("%s smtp reject stage=data code=%d id=%s size=%llu "
	    "reason=%s", s->id, code, tx->id,
	    (unsigned long long)tx->dec.size, log_q(reply + 10));
	smtp_session_reply(s, "%s", reply);
	smtp_tx_free(&s->tx);
	s->state = SMTP_STATE_READY;
}

/* The From: ownership check (smtp_sender.c) has answered. */
static void
smtp_tx_from_checked(struct smtp_session *s, int owned, const char *bad)
{
	const char *reply;

	s->sreq = NULL;
	s->busy = false;
	if (owned != 1) {
		reply = smtp_sender_header_refused(s, owned, bad);
		smtp_tx_refuse(s, reply, (int)strtol(reply, NULL, 10),
		    "sender");
	} else if (smtp_tx_check_content(s) == 1)
		smtp_tx_commit(s);
	if (!s->busy && s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

/* After DMARC: its refusal, the From: ownership check, the content
 * checks, the commit. */
static void
smtp_tx_after_dmarc(struct smtp_session *s)
{
	const char *reply = smtp_dmarc_refusal(s->tx);

	if (reply != NULL) {
		smtp_tx_refuse(s, reply, (int)strtol(reply, NULL, 10),
		    "dmarc");
		return;
	}
	if (smtp_sender_check_header(s, smtp_tx_from_checked) == 0)
		return;
	if (smtp_tx_check_content(s) == 1)
		smtp_tx_commit(s);
}

/* DMARC has looked up the policy (smtp_dmarc.c). */
static void
smtp_tx_dmarc_done(struct smtp_session *s)
{
	s->busy = false;
	if (s->dead) {
		smtp_session_resume(s);		/* frees it */
		return;
	}
	smtp_tx_after_dmarc(s);
	if (!s->busy && s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

/* After DKIM: DMARC, then the rest. */
static void
smtp_tx_finish_checks(struct smtp_session *s)
{
	if (smtp_dmarc_check(s, smtp_tx_dmarc_done) == 0)
		return;
	smtp_tx_after_dmarc(s);
}

/* The DKIM keys were looked up (smtp_authres.c). */
static void
smtp_tx_authres_done(struct smtp_session *s)
{
	s->busy = false;
	if (s->dead) {
		smtp_session_resume(s);		/* frees it */
		return;
	}
	smtp_tx_finish_checks(s);
	if (!s->busy && s->state != SMTP_STATE_QUIT)
		smtp_session_resume(s);
	else
		smtp_session_flush(s);
}

void
smtp_tx_finish(struct smtp_session *s)
{
	const char *reply;
	char buf[128];
	int code;

	if ((reply = smtp_tx_check(s, &code, buf, sizeof(buf))) != NULL) {
		smtp_tx_refuse(s, reply, code, "content");
		return;
	}
	/* DMARC's policy lookup goes out with the key lookups: one wait
	 * for all of them instead of two in a row. */
	smtp_dmarc_prefetch(s);
	if (smtp_authres_finish(s, smtp_tx_authres_done) == 0)
		return;
	smtp_tx_finish_checks(s);
}
