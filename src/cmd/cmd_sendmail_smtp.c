/* `sendmail -bs`: SMTP on standard input and output, for programs that
 * speak SMTP to a local MTA through a pipe.  Each DATA becomes one
 * maildrop file exactly as a plain `sendmail` call would write it (the
 * sender of MAIL FROM, the recipients of RCPT TO; no header extraction).
 * Nothing but the commands a submitting program needs: HELO, EHLO, MAIL,
 * RCPT, DATA, RSET, NOOP, VRFY (252), QUIT.  Lines over 1000 octets, NUL
 * and bare CR are refused as the server refuses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/cmd.h"
#include "cmd/sendmail.h"
#include "lib/xalloc.h"
#include "queue/maildrop.h"

#define SMTP_LINE_MAX 1000

struct sendmail_tx {
	char *sender;			/* NULL: no MAIL yet */
	char **rcpts;
	int nrcpts;
};

static void
sendmail_tx_reset(struct sendmail_tx *t)
{
	free(t->sender);
	for (int i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	memset(t, 0, sizeof(*t));
}

static void
sendmail_reply(const char *line)
{
	fputs(line, stdout);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* A line without its line end: 1, 0 at end of input, -1 too long. */
static int
sendmail_getline(char *buf, size_t size)
{
	size_t n;

	if (fgets(buf, (int)size, stdin) == NULL)
		return 0;
	n = strlen(buf);
	if (n == 0 || buf[n - 1] != '\n') {
		int ch;

		if (feof(stdin))
			return 1;
		while ((ch = getchar()) != EOF && ch != '\n')
			;
		return -1;
	}
	buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 1;
}

/* "FROM:<addr> params" -> addr (in place), or NULL. */
static char *
sendmail_path_arg(char *arg, const char *word)
{
	size_t w = strlen(word);
	char *lt, *gt;

	if (strncasecmp(arg, word, w) != 0)
		return NULL;
	arg += w;
	while (*arg == ' ')
		arg++;
	if ((lt = strchr(arg, '<')) != arg || (gt = strchr(lt, '>')) == NULL)
		return NULL;
	*gt = '\0';
	return lt + 1;
}

/* DATA: reads to the lone dot, then writes the maildrop file. */
static void
sendmail_smtp_data(const struct cli *cli, struct sendmail_tx *t)
{
	struct sendmail_opts o = { .sender = t->sender[0] ? t->sender : "<>" };
	struct sendmail_msg m;
	char line[SMTP_LINE_MAX + 2];
	const char *why = NULL;
	int r;

	sendmail_reply("354 End data with <CR><LF>.<CR><LF>");
	sendmail_msg_init(&m, false, cli->conf.message_size_limit);
	while ((r = sendmail_getline(line, sizeof(line))) != 0) {
		const char *s = line;

		if (r < 0 && why == NULL)
			why = "line longer than 998 octets";
		if (r < 0)
			continue;
		if (strcmp(line, ".") == 0)
			break;
		if (s[0] == '.')
			s++;
		if (why == NULL && (sendmail_msg_feed(&m, s, strlen(s)) < 0 ||
		    sendmail_msg_feed(&m, "\n", 1) < 0))
			why = m.error;
	}
	if (r == 0)
		exit(0);		/* the client went away: nothing sent */
	if (why != NULL)
		sendmail_reply("554 5.6.0 Message refused: bad line, NUL or "
		    "too big");
	else if (sendmail_queue(cli, &o, t->nrcpts, t->rcpts, &m) == 0)
		sendmail_reply("250 2.0.0 Queued");
	else
		sendmail_reply("451 4.3.0 Could not queue the message");
	sendmail_msg_free(&m);
	sendmail_tx_reset(t);
}

static void
sendmail_smtp_cmd(const struct cli *cli, struct sendmail_tx *t, char *line)
{
	char *arg = strchr(line, ' ');
	char *addr;

	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	if (strcasecmp(line, "HELO") == 0 || strcasecmp(line, "EHLO") == 0) {
		sendmail_tx_reset(t);
		printf("250 %s\r\n", cli->conf.hostname);
		fflush(stdout);
	} else if (strcasecmp(line, "MAIL") == 0) {
		if (t->sender != NULL)
			sendmail_reply("503 5.5.1 MAIL already given");
		else if ((addr = sendmail_path_arg(arg, "FROM:")) == NULL ||
		    (addr[0] != '\0' && !maildrop_addr_ok(addr)))
			sendmail_reply("501 5.1.7 Bad sender address");
		else {
			t->sender = xstrdup(addr);
			sendmail_reply("250 2.1.0 OK");
		}
	} else if (strcasecmp(line, "RCPT") == 0) {
		if (t->sender == NULL)
			sendmail_reply("503 5.5.1 MAIL first");
		else if ((addr = sendmail_path_arg(arg, "TO:")) == NULL ||
		    !maildrop_addr_ok(addr) || t->nrcpts >= MAILDROP_RCPT_MAX)
			sendmail_reply("501 5.1.3 Bad recipient address");
		else {
			t->rcpts = xreallocarray(t->rcpts, (size_t)t->nrcpts +
			    1, sizeof(*t->rcpts));
			t->rcpts[t->nrcpts++] = xstrdup(addr);
			sendmail_reply("250 2.1.5 OK");
		}
	} else if (strcasecmp(line, "DATA") == 0) {
		if (t->nrcpts == 0)
			sendmail_reply("503 5.5.1 RCPT first");
		else
			sendmail_smtp_data(cli, t);
	} else if (strcasecmp(line, "RSET") == 0) {
		sendmail_tx_reset(t);
		sendmail_reply("250 2.0.0 OK");
	} else if (strcasecmp(line, "NOOP") == 0)
		sendmail_reply("250 2.0.0 OK");
	else if (strcasecmp(line, "VRFY") == 0)
		sendmail_reply("252 2.5.0 Cannot verify, will try delivery");
	else
		sendmail_reply("500 5.5.2 Command not recognised");
}

int
sendmail_smtp(const struct cli *cli, const struct sendmail_opts *o)
{
	struct sendmail_tx t;
	char line[SMTP_LINE_MAX + 2];
	int r;

	(void)o;
	memset(&t, 0, sizeof(t));
	printf("220 %s ESMTP Ferry sendmail\r\n", cli->conf.hostname);
	fflush(stdout);
	while ((r = sendmail_getline(line, sizeof(line))) != 0) {
		if (r < 0) {
			sendmail_reply("500 5.5.2 Line too long");
			continue;
		}
		if (strcasecmp(line, "QUIT") == 0) {
			sendmail_reply("221 2.0.0 Bye");
			break;
		}
		sendmail_smtp_cmd(cli, &t, line);
	}
	sendmail_tx_reset(&t);
	return 0;
}
