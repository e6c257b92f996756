/* The TRANSACTION and UPDATE states (RFC 1939 sections 5 and 6, TOP and
 * UIDL from section 7).  The session works on the snapshot taken at login
 * (messages delivered meanwhile show up in the next session); sizes are
 * the CRLF sizes from the UID index.  DELE only marks: the Maildir is
 * changed at QUIT, on a worker thread (unlink + maildirsize, new/ ->
 * cur/ with the S flag for retrieved messages), never when the client
 * just goes away.  Message bodies are read from their files here, a
 * chunk at a time as the client takes them (local files, like a Maildir
 * reader's reads; the loop never waits on the network). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "mailbox/maildir_change.h"
#include "pop3/pop3_private.h"

#define POP3_READ_CHUNK 65536

struct pop3_update {
	struct pop3_session *s;
	struct maildir_change *v;
	size_t n;
	size_t failed, expunged;
};

/* The message numbered msg (1-based) that is not deleted, else NULL with
 * the error reply queued. */
static struct uidlist_msg *
pop3_msg(struct pop3_session *s, uint32_t msg)
{
	if (msg == 0 || msg > s->mbox.n) {
		pop3_session_reply(s, "-ERR No such message");
		return NULL;
	}
	if (s->flags[msg - 1] & POP3_MF_DELETED) {
		pop3_session_reply(s, "-ERR Message %u already deleted", msg);
		return NULL;
	}
	return &s->mbox.v[msg - 1];
}

void
pop3_cmd_stat(struct pop3_session *s, struct pop3_command *cmd)
{
	uint64_t octets = 0;
	size_t n = 0;

	for (size_t i = 0; i < s->mbox.n; i++)
		if (!(s->flags[i] & POP3_MF_DELETED)) {
			n++;
			octets += s->mbox.v[i].vsize;
		}
	pop3_session_reply(s, "+OK %zu %llu", n, (unsigned long long)octets);
}

/* The unique-id of message i: "<uidvalidity>.<uid>", or for a message
 * imported with its old UIDL (POP3_MF_LEGACY) the base name of its file,
 * as qmail-pop3d gave it out. */
static void
pop3_uidl_of(const struct pop3_session *s, size_t i, char *dst, size_t size)
{
	const struct uidlist_msg *m = &s->mbox.v[i];
	const char *base;

	if (s->flags[i] & POP3_MF_LEGACY) {
		base = strchr(m->name, '/');
		base = base != NULL ? base + 1 : m->name;
		snprintf(dst, size, "%.*s", (int)uidlist_basename_len(base),
		    base);
	} else
		snprintf(dst, size, "%u.%u", s->mbox.uidvalidity, m->uid);
}

/* LIST and UIDL: one message, or all that are not deleted. */
static void
pop3_listing(struct pop3_session *s, struct pop3_command *cmd, bool uidl)
{
	const struct uidlist_msg *m;
	char id[80];

	if (cmd->has_msg) {
		if ((m = pop3_msg(s, cmd->msg)) == NULL)
			return;
		if (uidl) {
			pop3_uidl_of(s, cmd->msg - 1, id, sizeof(id));
			pop3_session_reply(s, "+OK %u %s", cmd->msg, id);
		} else
			pop3_session_reply(s, "+OK %u %llu", cmd->msg,
			    (unsigned long long)m->vsize);
		return;
	}
	pop3_session_reply(s, "+OK %s", uidl ? "Unique-ID listing follows" :
	    "Scan listing follows");
	for (size_t i = 0; i < s->mbox.n; i++) {
		if (s->flags[i] & POP3_MF_DELETED)
			continue;
		m = &s->mbox.v[i];
		if (uidl) {
			pop3_uidl_of(s, i, id, sizeof(id));
			fbuf_addf(&s->out, "%zu %s\r\n", i + 1, id);
		} else
			fbuf_addf(&s->out, "%zu %llu\r\n", i + 1,
			    (unsigned long long)m->vsize);
	}
	fbuf_add(&s->out, ".\r\n", 3);
}

void
pop3_cmd_list(struct pop3_session *s, struct pop3_command *cmd)
{
	pop3_listing(s, cmd, false);
}

void
pop3_cmd_uidl(struct pop3_session *s, struct pop3_command *cmd)
{
	pop3_listing(s, cmd, true);
}

void
pop3_cmd_dele(struct pop3_session *s, struct pop3_command *cmd)
{
	struct uidlist_msg *m = pop3_msg(s, cmd->msg);

	if (m == NULL)
		return;
	s->flags[cmd->msg - 1] |= POP3_MF_DELETED;
	s->ndeleted++;
	s->deleted_octets += m->vsize;
	pop3_session_reply(s, "+OK Message %u deleted", cmd->msg);
}

void
pop3_cmd_noop(struct pop3_session *s, struct pop3_command *cmd)
{
	pop3_session_reply(s, "+OK");
}

void
pop3_cmd_rset(struct pop3_session *s, struct pop3_command *cmd)
{
	for (size_t i = 0; i < s->mbox.n; i++)
		s->flags[i] &= (uint8_t)~POP3_MF_DELETED;
	s->ndeleted = 0;
	s->deleted_octets = 0;
	pop3_session_reply(s, "+OK %zu messages", s->mbox.n);
}

/* ---- RETR and TOP ---- */

void
pop3_cmd_retr(struct pop3_session *s, struct pop3_command *cmd)
{
	struct uidlist_msg *m = pop3_msg(s, cmd->msg);
	bool top = cmd->cmd == POP3_CMD_TOP;
	char path[PATH_MAX];

	if (m == NULL)
		return;
	if (snprintf(path, sizeof(path), "%s/%s", s->mailbox, m->name) >=
	    (int)sizeof(path) || (s->stream_fd = open(path, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0) {
		s->stream_fd = -1;
		log_info("%s pop3 retr-failed name=%s error=%s", s->id,
		    log_q(m->name), log_q(strerror(errno)));
		pop3_session_reply(s, "-ERR Message %u is no longer available",
		    cmd->msg);
		return;
	}
	pop3_stuff_init(&s->stuff, top, cmd->lines);
	if (top)
		pop3_session_reply(s, "+OK Top of message follows");
	else {
		pop3_session_reply(s, "+OK %llu octets",
		    (unsigned long long)m->vsize);
		s->flags[cmd->msg - 1] |= POP3_MF_SEEN;
		s->retrieved++;
	}
}

void
pop3_stream_close(struct pop3_session *s)
{
	if (s->stream_fd >= 0)
		close(s->stream_fd);
	s->stream_fd = -1;
}

void
pop3_stream_pump(struct pop3_session *s)
{
	char buf[POP3_READ_CHUNK];
	ssize_t n;

	do
		n = read(s->stream_fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* The "+OK" is out: the only honest ending is to hang up. */
		log_warn("%s pop3 read-failed", s->id);
		pop3_session_close(s);
		return;
	}
	if (n > 0)
		pop3_stuff_feed(&s->stuff, buf, (size_t)n, &s->out);
	if (n == 0 || s->stuff.done) {
		pop3_stuff_end(&s->stuff, &s->out);
		pop3_stream_close(s);
	}
}

/* ---- QUIT and the UPDATE state ---- */

static void
pop3_update_work(void *arg)
{
	struct pop3_update *u = arg;

	u->failed = maildir_change_apply(u->s->mailbox, u->v, u->n,
	    &u->expunged);
}

static void
pop3_update_done(void *arg)
{
	struct pop3_update *u = arg;
	struct pop3_session *s = u->s;

	log_info("%s pop3 update user=%s deleted=%zu failed=%zu retrieved=%u",
	    s->id, log_q(s->address), u->expunged, u->failed, s->retrieved);
	if (u->failed > 0)
		pop3_session_reply(s, "-ERR [SYS/TEMP] Some deleted messages "
		    "not removed");
	else
		pop3_session_reply(s, "+OK Bye, %zu messages deleted",
		    u->expunged);
	free(u->v);
	free(u);
	pop3_session_enter_state(s, POP3_STATE_QUIT);
	pop3_session_resume(s);
}

/* The changes QUIT commits: deletions, the S flag for retrieved
 * messages, and new/ -> cur/ for the rest the client has now seen
 * listed (Maildir: new/ is for mail no reader has noticed yet). */
static struct pop3_update *
pop3_update_new(struct pop3_session *s)
{
	struct pop3_update *u = xcalloc(1, sizeof(*u));

	u->s = s;
	u->v = xreallocarray(NULL, s->mbox.n + 1, sizeof(*u->v));
	for (size_t i = 0; i < s->mbox.n; i++) {
		const char *name = s->mbox.v[i].name;
		bool del = s->flags[i] & POP3_MF_DELETED;
		bool seen = s->flags[i] & POP3_MF_SEEN;

		if (!del && !seen && strncmp(name, "new/", 4) != 0)
			continue;
		u->v[u->n].name = name;
		u->v[u->n].expunge = del;
		u->v[u->n].seen = seen;
		u->n++;
	}
	return u;
}

void
pop3_cmd_quit(struct pop3_session *s, struct pop3_command *cmd)
{
	struct pop3_update *u;

	if (s->state == POP3_STATE_AUTH) {
		pop3_session_reply(s, "+OK Bye");
		pop3_session_close(s);
		return;
	}
	pop3_session_enter_state(s, POP3_STATE_UPDATE);
	u = pop3_update_new(s);
	if (u->n == 0) {
		pop3_update_done(u);
		return;
	}
	pop3_session_suspend(s);
	workpool_submit(s->srv->env->pool, pop3_update_work, pop3_update_done,
	    u);
}
