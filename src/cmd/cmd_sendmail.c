/* `ferry sendmail` and the binary called as sendmail, mailq, newaliases:
 * the interface local programs (cron, logwatch, PHP's mail()) expect.
 * The message is read from standard input, its line ends made CRLF, the
 * header fields programs leave out (From, Date, Message-ID) added, and
 * the whole written into maildrop_dir (queue/maildrop.h), where the
 * queue role picks it up at once or, when the server is down, when it
 * starts.  No network, no server needed to accept.  Exit codes are
 * sysexits.h's (man ferry-sendmail). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/sendmail.h"
#include "lib/fsio.h"
#include "smtp/smtp_hdraddr.h"
#include "lib/fbuf.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "queue/maildrop.h"


static int
sendmail_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
sendmail_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* An option's value: attached ("-fbob") or the next argument. */
static const char *
sendmail_optarg(int argc, char **argv, int *i)
{
	if (argv[*i][2] != '\0')
		return argv[*i] + 2;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* 0, a mode letter ('p' mailq, 'i' newaliases) or -1 (usage). */
static int
sendmail_parse(int argc, char **argv, struct sendmail_opts *o)
{
	int i, mode = 0;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		switch (a[1]) {
		case 't':
			o->extract = true;
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'f':
		case 'r':
			if ((o->sender = sendmail_optarg(argc, argv, &i)) == NULL)
				return -1;
			break;
		case 'F':
			if ((o->fullname = sendmail_optarg(argc, argv, &i)) == NULL)
				return -1;
			break;
		case 'o':
			/* -oi; -oem, -odb, -oQ... are about sendmail's own
			 * queue and error modes: accepted, meaningless here. */
			if (strcmp(a, "-oi") == 0)
				o->ignore_dots = true;
			break;
		case 'b':
			if (strcmp(a, "-bs") == 0)
				o->smtp = true;
			else if (strcmp(a, "-bp") == 0)
				mode = 'p';
			else if (strcmp(a, "-bi") == 0)
				mode = 'i';
			else if (strcmp(a, "-bm") != 0)
				return -1;
			break;
		case 'N':
		case 'R':
		case 'V':
		case 'B':
		case 'L':
			/* DSN options, body type, log tag: take the value. */
			if (sendmail_optarg(argc, argv, &i) == NULL)
				return -1;
			break;
		case 'v':
		case 'U':
		case 'n':
		case 'm':
			break;
		default:
			return -1;
		}
	}
	o->first_rcpt = i;
	return mode;
}

/* "user@hostname" for the user running us. */
static void
sendmail_local_sender(const struct conf *c, char *dst, size_t size,
    char *gecos, size_t gsize)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL) {
		snprintf(dst, size, "%s@%s", pw->pw_name, c->hostname);
		snprintf(gecos, gsize, "%.*s",
		    (int)strcspn(pw->pw_gecos ? pw->pw_gecos : "", ","),
		    pw->pw_gecos ? pw->pw_gecos : "");
	} else {
		snprintf(dst, size, "uid%u@%s", (unsigned)getuid(),
		    c->hostname);
		gecos[0] = '\0';
	}
}

/* Adds addr (a bare local part gets @hostname) to rcpts: 0 or -1. */
static int
sendmail_add_rcpt(struct maildrop_env *e, const struct conf *c,
    const char *addr)
{
	char buf[MAILDROP_ADDR_MAX + 2];

	if (strchr(addr, '@') == NULL)
		snprintf(buf, sizeof(buf), "%s@%s", addr, c->hostname);
	else
		snprintf(buf, sizeof(buf), "%s", addr);
	if (!maildrop_addr_ok(buf) || e->nrcpts >= MAILDROP_RCPT_MAX)
		return -1;
	for (size_t i = 0; i < e->nrcpts; i++)
		if (strcmp(e->rcpts[i], buf) == 0)
			return 0;
	e->rcpts = xreallocarray(e->rcpts, e->nrcpts + 1, sizeof(*e->rcpts));
	e->rcpts[e->nrcpts++] = xstrdup(buf);
	return 0;
}

struct sendmail_extract {
	struct maildrop_env *e;
	const struct conf *c;
	const char *bad;
	char badbuf[128];
};

static void
sendmail_extract_cb(void *ctx, const char *addr, bool unreadable)
{
	struct sendmail_extract *x = ctx;

	if (x->bad != NULL)
		return;
	if (unreadable || addr[0] == '\0' ||
	    sendmail_add_rcpt(x->e, x->c, addr) < 0) {
		snprintf(x->badbuf, sizeof(x->badbuf), "%s", addr);
		x->bad = x->badbuf;
	}
}

/* -t: the recipients of To, Cc and Bcc.  0, or -1 with the bad one in
 * *bad_r. */
static int
sendmail_extract(const struct sendmail_msg *m, const struct conf *c,
    struct maildrop_env *e, char *bad, size_t size)
{
	static const char *fields[] = { "To", "Cc", "Bcc" };
	struct sendmail_extract x = { e, c, NULL, "" };
	struct fbuf v;

	for (size_t i = 0; i < 3; i++) {
		fbuf_init(&v, 0);
		sendmail_msg_field(m, fields[i], &v);
		if (v.len > 0)
			smtp_hdraddr_parse(v.data, v.len, sendmail_extract_cb,
			    &x);
		fbuf_release(&v);
	}
	if (x.bad != NULL) {
		snprintf(bad, size, "%s", x.bad);
		return -1;
	}
	return 0;
}

/* The envelope: sender and recipients.  0 or an exit code. */
static int
sendmail_envelope(const struct sendmail_opts *o, const struct conf *c,
    int argc, char **argv, const struct sendmail_msg *m,
    struct maildrop_env *e, char *gecos, size_t gsize)
{
	char sender[MAILDROP_ADDR_MAX + 2], bad[MAILDROP_ADDR_MAX + 2];

	sendmail_local_sender(c, sender, sizeof(sender), gecos, gsize);
	if (o->sender != NULL) {
		const char *s = o->sender;

		if (strcmp(s, "<>") == 0)
			s = "";
		else if (strchr(s, '@') == NULL) {
			snprintf(bad, sizeof(bad), "%s@%s", s, c->hostname);
			s = bad;
		}
		if (s[0] != '\0' && !maildrop_addr_ok(s))
			return sendmail_fail(EX_DATAERR, "bad sender address "
			    "%s", o->sender);
		str_lcpy(sender, s, sizeof(sender));
	}
	e->sender = xstrdup(sender);
	for (int i = o->first_rcpt; i < argc; i++)
		if (sendmail_add_rcpt(e, c, argv[i]) < 0)
			return sendmail_fail(EX_DATAERR, "bad recipient address "
			    "%s", argv[i]);
	if (o->extract && sendmail_extract(m, c, e, bad, sizeof(bad)) < 0)
		return sendmail_fail(EX_DATAERR, "bad recipient address %s "
		    "in the header", bad);
	if (e->nrcpts == 0)
		return sendmail_fail(EX_USAGE, "no recipients (give them as "
		    "arguments, or -t to read To, Cc and Bcc)");
	return 0;
}

/* Writes the file into the maildrop: tmp.<random>, synced, renamed to
 * msg.<random>.  The directory cannot be opened for reading (mode
 * 1733), so the rename is made durable with syncfs() when its fsync is
 * not possible.  0 or an exit code. */
static int
sendmail_drop(const struct conf *c, const struct fbuf *file)
{
	char dir[PATH_MAX], tmp[64], name[64];
	int dfd, fd, rfd, r = 0;

	if (conf_maildrop_path(c, dir, sizeof(dir)) < 0)
		return sendmail_fail(EX_CONFIG, "maildrop_dir too long");
	/* Before the server's first start, whoever may write state_dir
	 * (root, run_as) makes the directory as the server would. */
	if (access(dir, F_OK) < 0 && errno == ENOENT && mkdir(dir, 01733) == 0) {
		(void)chmod(dir, 01733);
		/* The server must own it to remove what it takes. */
		if (geteuid() == 0 && c->run_as[0] != '\0') {
			struct passwd *pw = getpwnam(c->run_as);

			if (pw != NULL)
				(void)chown(dir, pw->pw_uid, pw->pw_gid);
		}
	}
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sendmail_fail(errno == EACCES ? EX_NOPERM :
		    EX_UNAVAILABLE, "%s: %s (the server creates it when it "
		    "starts)", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s%016llx%016llx", MAILDROP_TMP_PREFIX,
	    (unsigned long long)ids_random(), (unsigned long long)ids_random());
	snprintf(name, sizeof(name), "%s%s", MAILDROP_MSG_PREFIX,
	    tmp + strlen(MAILDROP_TMP_PREFIX));
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd < 0) {
		r = sendmail_fail(errno == EACCES ? EX_NOPERM : EX_CANTCREAT,
		    "%s/%s: %s", dir, tmp, strerror(errno));
		close(dfd);
		return r;
	}
	/* The queue runs as another user: it must read the file (the
	 * directory hides its name from everyone else). */
	if (fchmod(fd, 0644) < 0 || fsio_write_all(fd, file->data,
	    file->len) < 0 || fsync(fd) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		r = sendmail_fail(EX_IOERR, "%s: %s", dir, strerror(errno));
		(void)unlinkat(dfd, tmp, 0);
	} else if ((rfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(rfd) < 0)
			r = sendmail_fail(EX_IOERR, "%s: %s", dir,
			    strerror(errno));
		close(rfd);
	} else if (syncfs(fd) < 0)
		r = sendmail_fail(EX_IOERR, "%s: %s", dir, strerror(errno));
	close(fd);
	close(dfd);
	return r;
}

/* One message: envelope from o and argv, content m.  0 or exit code. */
int
sendmail_queue(const struct cli *cli, const struct sendmail_opts *o,
    int argc, char **argv, struct sendmail_msg *m)
{
	const struct conf *c = &cli->conf;
	struct maildrop_env e;
	struct fbuf file;
	char gecos[128];
	int r;

	memset(&e, 0, sizeof(e));
	r = sendmail_envelope(o, c, argc, argv, m, &e, gecos, sizeof(gecos));
	if (r == 0) {
		sendmail_msg_complete(m, c->hostname, e.sender,
		    o->fullname != NULL ? o->fullname : gecos);
		if (c->message_size_limit != 0 &&
		    sendmail_msg_size(m) > c->message_size_limit)
			r = sendmail_fail(EX_DATAERR, "message too big (the "
			    "limit is message_size_limit = %llu octets)",
			    (unsigned long long)c->message_size_limit);
	}
	if (r == 0) {
		fbuf_init(&file, 0);
		maildrop_env_format(&e, &file);
		sendmail_msg_write(m, &file);
		r = sendmail_drop(c, &file);
		fbuf_release(&file);
	}
	maildrop_env_free(&e);
	return r;
}

static bool
sendmail_may_list(const struct conf *c)
{
	struct passwd *pw;

	if (geteuid() == 0)
		return true;
	return c->run_as[0] != '\0' && (pw = getpwnam(c->run_as)) != NULL &&
	    pw->pw_uid == geteuid();
}

int
cmd_sendmail(struct cli *cli, int argc, char **argv)
{
	struct sendmail_opts o;
	struct sendmail_msg m;
	const char *why;
	int mode, r;

	if ((mode = sendmail_parse(argc, argv, &o)) < 0)
		return sendmail_fail(EX_USAGE, "usage: sendmail [-t] [-i] "
		    "[-f SENDER] [-F NAME] [-bs|-bp|-bi] [RECIPIENT...]");
	if (mode == 'i') {
		fprintf(stderr, "newaliases: nothing to rebuild: aliases live "
		    "in Ferry's database (ferry alias add|del|list)\n");
		return 0;
	}
	if (cli_load_conf(cli) < 0)
		return EX_CONFIG;
	if (mode == 'p') {
		char *list[] = { "queue", "list", NULL };

		/* The queue holds every user's correspondents: root and the
		 * server's user only (docs/design-notes.md). */
		if (!sendmail_may_list(&cli->conf))
			return sendmail_fail(EX_NOPERM, "mailq: only root and "
			    "the server's user (%s) may list the queue",
			    cli->conf.run_as[0] != '\0' ? cli->conf.run_as :
			    "root");
		return cmd_queue(cli, 2, list) == 0 ? 0 : EX_UNAVAILABLE;
	}
	if (o.smtp)
		return sendmail_smtp(cli, &o);
	sendmail_msg_init(&m, !o.ignore_dots, cli->conf.message_size_limit);
	if (sendmail_msg_read(&m, stdin, &why) < 0) {
		sendmail_msg_free(&m);
		return sendmail_fail(EX_DATAERR, "%s", why);
	}
	r = sendmail_queue(cli, &o, argc, argv, &m);
	sendmail_msg_free(&m);
	return r;
}
