/* The DMARC aggregate reports received for hosted domains
 * (ops/ops_dmarc_in.h):
 *   ferry dmarc reports DOMAIN [--days N] [--json]
 *     per source address: messages, DMARC pass and fail, DKIM and SPF
 *     passes, dispositions, who reported it; failing sources first;
 *   ferry dmarc import PATH...
 *     report mails (a file, a Maildir or a directory of mail files) or
 *     bare report files (.xml, .xml.gz, .zip), for mail that came
 *     before automatic reading was on.
 * Text from reports is printed with control and non-ASCII octets
 * escaped (\xHH); --json escapes as JSON. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/json.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "msgauth/dmarc_agg.h"
#include "ops/ops_account.h"
#include "ops/ops_dmarc_in.h"
#include "store/store.h"

#define CMD_DMARC_IN_FILE_MAX (64u << 20)	/* larger files are skipped */

/* s for a terminal: printable ASCII as is, other octets as \xHH. */
static const char *
cmd_dmarc_in_esc(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 5 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
	}
	buf[n] = '\0';
	return buf;
}

static void
cmd_dmarc_in_day(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d", &tm);
}

/* ------------------------------------------------------------ reports */

static void
cmd_dmarc_reports_json(const struct ops_dmarc_summary *sum, unsigned days)
{
	struct fbuf out;
	struct json j;

	fbuf_init(&out, 0);
	json_init(&j, &out);
	json_object_begin(&j);
	json_key(&j, "domain");
	json_str(&j, sum->domain);
	json_key(&j, "days");
	json_uint(&j, days);
	json_key(&j, "reports");
	json_uint(&j, sum->reports);
	json_key(&j, "messages");
	json_uint(&j, sum->messages);
	json_key(&j, "pass");
	json_uint(&j, sum->pass);
	json_key(&j, "fail");
	json_uint(&j, sum->fail);
	json_key(&j, "first");
	json_int(&j, sum->reports > 0 ? sum->first : 0);
	json_key(&j, "last");
	json_int(&j, sum->reports > 0 ? sum->last : 0);
	json_key(&j, "orgs");
	json_array_begin_lines(&j);
	for (size_t i = 0; i < sum->norgs; i++) {
		json_object_begin(&j);
		json_key(&j, "org");
		json_str(&j, sum->orgs[i].name);
		json_key(&j, "reports");
		json_uint(&j, sum->orgs[i].reports);
		json_key(&j, "messages");
		json_uint(&j, sum->orgs[i].messages);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "sources");
	json_array_begin_lines(&j);
	for (size_t i = 0; i < sum->nsrc; i++) {
		const struct ops_dmarc_src *s = &sum->src[i];

		json_object_begin(&j);
		json_key(&j, "source_ip");
		json_str(&j, s->ip);
		json_key(&j, "messages");
		json_uint(&j, s->messages);
		json_key(&j, "pass");
		json_uint(&j, s->pass);
		json_key(&j, "fail");
		json_uint(&j, s->fail);
		json_key(&j, "dkim_pass");
		json_uint(&j, s->dkim_pass);
		json_key(&j, "spf_pass");
		json_uint(&j, s->spf_pass);
		json_key(&j, "none");
		json_uint(&j, s->none);
		json_key(&j, "quarantine");
		json_uint(&j, s->quarantine);
		json_key(&j, "reject");
		json_uint(&j, s->reject);
		json_key(&j, "header_from");
		json_str(&j, s->header_from);
		json_key(&j, "orgs");
		json_array_begin(&j);
		for (unsigned k = 0; k < s->norgs; k++)
			json_str(&j, sum->orgs[s->orgs[k]].name);
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	printf("%s\n", fbuf_str(&out));
	fbuf_release(&out);
}

static void
cmd_dmarc_reports_text(const struct ops_dmarc_summary *sum, unsigned days)
{
	char a[16], b[16], esc[1100];

	if (sum->reports == 0) {
		printf("%s: no DMARC reports received in the last %u days\n",
		    sum->domain, days);
		return;
	}
	cmd_dmarc_in_day(sum->first, a, sizeof(a));
	cmd_dmarc_in_day(sum->last, b, sizeof(b));
	printf("%s: %u reports, %s to %s, %llu messages: %llu pass, "
	    "%llu fail DMARC\nreported by:", sum->domain, sum->reports, a, b,
	    (unsigned long long)sum->messages, (unsigned long long)sum->pass,
	    (unsigned long long)sum->fail);
	for (size_t i = 0; i < sum->norgs; i++)
		printf("%s %s (%u reports, %llu messages)", i > 0 ? "," : "",
		    cmd_dmarc_in_esc(sum->orgs[i].name, esc, sizeof(esc)),
		    sum->orgs[i].reports,
		    (unsigned long long)sum->orgs[i].messages);
	printf("\n\n%-39s %9s %9s %9s %9s %9s  %s\n", "SOURCE", "MESSAGES",
	    "PASS", "FAIL", "DKIM-PASS", "SPF-PASS", "DISPOSITIONS / FROM");
	for (size_t i = 0; i < sum->nsrc; i++) {
		const struct ops_dmarc_src *s = &sum->src[i];

		printf("%-39s %9llu %9llu %9llu %9llu %9llu  none=%llu "
		    "quarantine=%llu reject=%llu from=%s\n", s->ip,
		    (unsigned long long)s->messages,
		    (unsigned long long)s->pass, (unsigned long long)s->fail,
		    (unsigned long long)s->dkim_pass,
		    (unsigned long long)s->spf_pass,
		    (unsigned long long)s->none,
		    (unsigned long long)s->quarantine,
		    (unsigned long long)s->reject,
		    cmd_dmarc_in_esc(s->header_from, esc, sizeof(esc)));
	}
}

int
cmd_dmarc_reports(struct cli *cli, int argc, char **argv)
{
	struct ops_dmarc_summary sum;
	struct ops_status st;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	const char *domain = NULL;
	uint64_t days = 7;
	bool json = cli_take_flag(&argc, argv, "--json");
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			if (str_parse_uint(argv[++i], 1, 3650, &days) < 0)
				return cli_fail("--days: a number of days, "
				    "1 to 3650");
		} else if (argv[i][0] != '-' && domain == NULL)
			domain = argv[i];
		else
			return cli_usage("dmarc reports DOMAIN [--days N] "
			    "[--json]");
	}
	if (domain == NULL)
		return cli_usage("dmarc reports DOMAIN [--days N] [--json]");
	if (cli_open_store(cli, &s) < 0)
		return 1;
	cli_ops_ctx(cli, s, &a, &c);
	rc = ops_dmarc_summary(&c, domain, (unsigned)days, (int64_t)time(NULL),
	    &sum, &st);
	if (rc == 0) {
		if (json)
			cmd_dmarc_reports_json(&sum, (unsigned)days);
		else
			cmd_dmarc_reports_text(&sum, (unsigned)days);
		ops_dmarc_summary_free(&sum);
	}
	store_close(&s);
	return rc == 0 ? 0 : cli_fail("%s", st.text);
}

/* ------------------------------------------------------------- import */

struct cmd_dmarc_import {
	struct store *s;
	unsigned stored, duplicates, skipped, bad;
};

/* Whether the file's content is a bare report rather than a mail. */
static bool
cmd_dmarc_in_raw(const char *path, const struct fbuf *b)
{
	const char *p = fbuf_str(b);

	if (dmarc_agg_sniff(p, b->len) != DMARC_AGG_XML)
		return true;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p == '<' || (strlen(path) > 4 &&
	    strcmp(path + strlen(path) - 4, ".xml") == 0);
}

static int
cmd_dmarc_in_load(const char *path, struct fbuf *b)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (b->len + (size_t)n > CMD_DMARC_IN_FILE_MAX ||
		    fbuf_add(b, buf, (size_t)n) < 0) {
			n = -1;
			errno = EFBIG;
			break;
		}
	close(fd);
	return n < 0 ? -1 : 0;
}

static void
cmd_dmarc_import_file(struct cmd_dmarc_import *im, const char *path)
{
	struct ops_dmarc_in_result res;
	char esc[4][1100];
	struct fbuf b;

	fbuf_init(&b, 0);
	if (cmd_dmarc_in_load(path, &b) < 0) {
		fprintf(stderr, "ferry: %s: %s\n", path, strerror(errno));
		im->bad++;
		fbuf_release(&b);
		return;
	}
	ops_dmarc_in_take(im->s, NULL, fbuf_str(&b), b.len,
	    cmd_dmarc_in_raw(path, &b), (int64_t)time(NULL), &res);
	if (res.n == 0) {
		printf("%s: no report in it\n", cmd_dmarc_in_esc(path, esc[0],
		    sizeof(esc[0])));
		im->skipped++;
	}
	for (size_t i = 0; i < res.n; i++) {
		const struct ops_dmarc_in_item *it = &res.v[i];

		cmd_dmarc_in_esc(path, esc[0], sizeof(esc[0]));
		if (it->fate == OPS_DIN_BAD || it->fate == OPS_DIN_FAILED) {
			printf("%s: %s: %s\n", esc[0],
			    ops_dmarc_in_fate_name(it->fate),
			    cmd_dmarc_in_esc(it->error, esc[1],
			    sizeof(esc[1])));
			im->bad++;
			continue;
		}
		printf("%s: %s: %s report %s from %s, %zu records, "
		    "%llu messages\n", esc[0], ops_dmarc_in_fate_name(it->fate),
		    cmd_dmarc_in_esc(it->domain, esc[1], sizeof(esc[1])),
		    cmd_dmarc_in_esc(it->report_id, esc[2], sizeof(esc[2])),
		    cmd_dmarc_in_esc(it->org, esc[3], sizeof(esc[3])),
		    it->records, (unsigned long long)it->messages);
		if (it->fate == OPS_DIN_STORED)
			im->stored++;
		else if (it->fate == OPS_DIN_DUPLICATE)
			im->duplicates++;
		else
			im->skipped++;
	}
	ops_dmarc_in_result_free(&res);
	fbuf_release(&b);
}

static int
cmd_dmarc_in_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir (not dot files), in name order; a Maildir's
 * cur/ and new/ when dir is one. */
static void
cmd_dmarc_import_dir(struct cmd_dmarc_import *im, const char *dir, int depth)
{
	char path[PATH_MAX], **names = NULL;
	struct dirent *de;
	struct stat sb;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "ferry: %s: %s\n", dir, strerror(errno));
		im->bad++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (depth > 0 &&
		    strcmp(de->d_name, "tmp") == 0))
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmd_dmarc_in_name_cmp);
	for (size_t i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]) < sizeof(path) && stat(path, &sb) == 0) {
			if (S_ISREG(sb.st_mode))
				cmd_dmarc_import_file(im, path);
			else if (S_ISDIR(sb.st_mode) && depth == 0 &&
			    (strcmp(names[i], "cur") == 0 ||
			    strcmp(names[i], "new") == 0))
				cmd_dmarc_import_dir(im, path, 1);
		}
		free(names[i]);
	}
	free(names);
}

int
cmd_dmarc_import(struct cli *cli, int argc, char **argv)
{
	struct cmd_dmarc_import im;
	struct stat sb;

	if (argc < 2)
		return cli_usage("dmarc import FILE|MAILDIR...");
	memset(&im, 0, sizeof(im));
	if (cli_open_store(cli, &im.s) < 0)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			cmd_dmarc_import_dir(&im, argv[i], 0);
		else
			cmd_dmarc_import_file(&im, argv[i]);
	}
	store_close(&im.s);
	printf("%u stored, %u duplicates, %u skipped, %u bad\n", im.stored,
	    im.duplicates, im.skipped, im.bad);
	return im.bad > 0 ? 1 : 0;
}
