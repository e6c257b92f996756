/* `ferry user vacation ADDRESS [on|off|show] [--subject S] [--body-file F]
 * [--from DATE] [--until DATE] [--days N] [--json]`: a user's vacation
 * reply.  The options change the settings (with on, off or no verb);
 * `--from none` / `--until none` remove a bound.  The body file ("-" is
 * standard input) is read whole, up to the limit, and checked by
 * ops_vacation.h like every other value; this file parses and prints. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "ops/ops_vacation.h"
#include "store/store.h"

#define CMD_VACATION_USAGE \
	"user vacation ADDRESS [on|off|show] [--subject S] [--body-file F] " \
	"[--from DATE] [--until DATE] [--days N] [--json]"

struct cmd_vacation_opts {
	const char *subject, *body_file, *from, *until, *days;
};

/* Takes "--name VALUE" out of argv into *value_r.  1 found, 0 not, -1
 * without a value. */
static int
cmd_vacation_take(int *argc, char **argv, const char *name,
    const char **value_r)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		if (i + 1 >= *argc)
			return -1;
		*value_r = argv[i + 1];
		memmove(&argv[i], &argv[i + 2],
		    (size_t)(*argc - i - 1) * sizeof(*argv));
		*argc -= 2;
		return 1;
	}
	return 0;
}

/* Every option out of argv: the number found, or -1 (one lacks its
 * value). */
static int
cmd_vacation_take_all(int *argc, char **argv, struct cmd_vacation_opts *o)
{
	const char *names[] = { "--subject", "--body-file", "--from",
		"--until", "--days" };
	const char **dst[] = { &o->subject, &o->body_file, &o->from,
		&o->until, &o->days };
	int n = 0, r;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((r = cmd_vacation_take(argc, argv, names[i], dst[i])) < 0)
			return -1;
		n += r;
	}
	return n;
}

/* The body file, at most one octet more than the limit (so that the
 * check can say "too long").  0 or -1 after printing. */
static int
cmd_vacation_read_body(const char *path, struct fbuf *out)
{
	char buf[8192];
	ssize_t n;
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY |
	    O_CLOEXEC);

	if (fd < 0) {
		cli_fail("%s: %s", path, strerror(errno));
		return -1;
	}
	while (out->len <= OPS_VACATION_BODY_MAX &&
	    (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_fail("%s: %s", path, strerror(errno));
			if (fd != 0)
				close(fd);
			return -1;
		}
		fbuf_add(out, buf, (size_t)n);
	}
	if (fd != 0)
		close(fd);
	return 0;
}

static void
cmd_vacation_json_date(struct json *j, const char *key, int64_t t)
{
	char date[32];

	json_key(j, key);
	if (t == 0) {
		json_null(j);
		return;
	}
	ops_vacation_format_date(t, date, sizeof(date));
	json_str(j, date);
}

static void
cmd_vacation_print_json(const struct ops_vacation *v)
{
	struct fbuf out;
	struct json j;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "address");
	json_str(&j, v->address);
	json_key(&j, "enabled");
	json_bool(&j, v->enabled);
	json_key(&j, "subject");
	json_str(&j, v->subject);
	json_key(&j, "body");
	json_str(&j, v->body);
	cmd_vacation_json_date(&j, "from", v->start);
	cmd_vacation_json_date(&j, "until", v->end);
	json_key(&j, "days");
	json_uint(&j, v->days);
	json_object_end(&j);
	puts(out.data);
	fbuf_release(&out);
}

static void
cmd_vacation_print(const struct ops_vacation *v)
{
	char date[32];

	printf("address: %s\nstate: %s\n", v->address, v->enabled ? "on" :
	    "off");
	if (v->subject[0] != '\0')
		printf("subject: %s\n", v->subject);
	else
		printf("subject: (\"Auto: \" and the original subject)\n");
	ops_vacation_format_date(v->start, date, sizeof(date));
	printf("from: %s%s\n", v->start != 0 ? date : "(no bound)",
	    v->start != 0 ? " UTC" : "");
	ops_vacation_format_date(v->end, date, sizeof(date));
	printf("until: %s%s\n", v->end != 0 ? date : "(no bound)",
	    v->end != 0 ? " UTC" : "");
	printf("days: %u\nbody:\n%s", v->days, v->body);
	if (v->body[0] != '\0' && v->body[strlen(v->body) - 1] != '\n')
		putchar('\n');
}

/* "none" removes a bound. */
static const char *
cmd_vacation_date(const char *s)
{
	return s != NULL && strcmp(s, "none") == 0 ? "" : s;
}

static int
cmd_vacation_run(const struct ops_ctx *c, const char *addr, const char *verb,
    const struct cmd_vacation_opts *o, int nopts, bool json)
{
	struct ops_vacation_change ch = { .enabled = -1 };
	struct ops_vacation v;
	struct ops_status st;
	struct fbuf body;
	int r = 0;

	fbuf_init(&body, 0);
	if (strcmp(verb, "on") == 0 || strcmp(verb, "off") == 0)
		ch.enabled = strcmp(verb, "on") == 0;
	ch.subject = o->subject;
	ch.start = cmd_vacation_date(o->from);
	ch.end = cmd_vacation_date(o->until);
	ch.days = o->days;
	if (o->body_file != NULL) {
		if (cmd_vacation_read_body(o->body_file, &body) < 0)
			r = -1;
		ch.body = body.data != NULL ? body.data : "";
		ch.body_len = body.len;
	}
	if (r == 0 && (ch.enabled >= 0 || nopts > 0) &&
	    ops_vacation_change(c, addr, &ch, (int64_t)time(NULL), &st) < 0) {
		cli_fail("%s", st.text);
		r = -1;
	}
	fbuf_release(&body);
	if (r < 0)
		return 1;
	if (ops_vacation_get(c, addr, &v, &st) < 0)
		return cli_fail("%s", st.text);
	if (json)
		cmd_vacation_print_json(&v);
	else if (strcmp(verb, "show") == 0)
		cmd_vacation_print(&v);
	ops_vacation_free(&v);
	return 0;
}

int
cmd_user_vacation(struct cli *cli, int argc, char **argv)
{
	bool json = cli_take_flag(&argc, argv, "--json");
	struct cmd_vacation_opts o;
	int nopts = cmd_vacation_take_all(&argc, argv, &o);
	const char *verb = argc > 3 ? argv[3] : "show";
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	int ret;

	if (nopts < 0 || argc < 3 || argc > 4 ||
	    (strcmp(verb, "on") != 0 && strcmp(verb, "off") != 0 &&
	    strcmp(verb, "show") != 0) ||
	    (argc == 4 && strcmp(verb, "show") == 0 && nopts > 0))
		return cli_usage(CMD_VACATION_USAGE);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	/* Options without a verb change the settings and print nothing. */
	ret = cmd_vacation_run(&c, argv[2], argc == 4 ? verb : nopts > 0 ?
	    "" : "show", &o, nopts, json);
	store_close(&s);
	return ret;
}
