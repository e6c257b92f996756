/* `ferry quickstart DOMAIN [--hostname H]`: a new operator's first ten
 * minutes in one command.  It sets `hostname` in the configuration file
 * (writing a complete file when there is none), creates DOMAIN (and the
 * host name as a domain, so that mail for root@ from cron arrives),
 * a postmaster@DOMAIN mailbox with a generated password (printed once)
 * and the usual role aliases, a DKIM key, and prints the DNS records to
 * publish and the ports to open.  Running it again changes nothing that
 * exists: no new password, no new key. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/password.h"
#include "cmd/cmd.h"
#include "lib/fbuf.h"
#include "lib/fsio.h"
#include "ops/ops_account.h"
#include "ops/ops_alias.h"
#include "ops/ops_dkim.h"
#include "store/resolve.h"
#include "store/store.h"

#define CMD_QUICKSTART_USAGE "quickstart DOMAIN [--hostname HOST]"
#define CMD_QUICKSTART_CONF_MAX (1024 * 1024)

/* A configuration for a new server, when the file does not exist. */
static void
cmd_quickstart_new_conf(struct fbuf *b, const char *hostname)
{
	static const char *snake_cert = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
	static const char *snake_key = "/etc/ssl/private/ssl-cert-snakeoil.key";
	bool tls = access(snake_cert, F_OK) == 0;

	fbuf_addf(b, "# Written by ferry quickstart; every key: man ferry.conf"
	    " (docs/configuration.md).\n"
	    "hostname = %s\n"
	    "state_dir = /var/lib/ferry\n"
	    "log_file = /var/log/ferry/ferry.log\n"
	    "relay_networks = 127.0.0.0/8, ::1/128\n"
	    "smtp_listen = 0.0.0.0:25\n"
	    "submission_listen = 0.0.0.0:587\n"
	    "imap_listen = 0.0.0.0:143\n"
	    "pop3_listen = 0.0.0.0:110\n", hostname);
	/* As the Debian package sets them: the CLI run as root works as
	 * the server's user, and every local user can reach the maildrop. */
	if (getpwnam("ferry") != NULL)
		fbuf_addf(b, "run_as = ferry\n");
	if (access("/var/spool/ferry/maildrop", F_OK) == 0)
		fbuf_addf(b, "maildrop_dir = /var/spool/ferry/maildrop\n");
	if (tls)
		fbuf_addf(b, "submissions_listen = 0.0.0.0:465\n"
		    "imaps_listen = 0.0.0.0:993\n"
		    "pop3s_listen = 0.0.0.0:995\n"
		    "# A self-signed certificate: replace it with a real one.\n"
		    "tls_cert = %s\ntls_key = %s\n", snake_cert, snake_key);
	else
		fbuf_addf(b, "# Set tls_cert and tls_key, then add "
		    "submissions_listen = 0.0.0.0:465\n# and imaps_listen = "
		    "0.0.0.0:993: AUTH needs TLS.\n");
}

/* Sets `hostname = H` in text: the active lines are replaced, else the
 * first commented one, else it is appended. */
static void
cmd_quickstart_set_hostname(const struct fbuf *in, const char *hostname,
    struct fbuf *out)
{
	bool active = false, done = false;
	const char *p, *end = in->data + in->len;

	for (p = in->data; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *s = p + strspn(p, " \t");

		if (strncmp(s, "hostname", 8) == 0 &&
		    strchr(" \t=", s[8]) != NULL && s < p + n)
			active = true;
		p += n + (nl != NULL);
	}
	for (p = in->data; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *s = p + strspn(p, " \t");
		bool commented = *s == '#';

		if (commented)
			s += 1 + strspn(s + 1, " \t");
		if (strncmp(s, "hostname", 8) == 0 && strchr(" \t=", s[8]) &&
		    s < p + n && (commented ? !active && !done : true)) {
			fbuf_addf(out, "hostname = %s\n", hostname);
			done = true;
		} else {
			fbuf_add(out, p, n);
			fbuf_add(out, "\n", 1);
		}
		p += n + (nl != NULL);
	}
	if (!done)
		fbuf_addf(out, "hostname = %s\n", hostname);
}

/* Writes or edits the configuration file: 0 or -1 after printing. */
static int
cmd_quickstart_conf(const char *path, const char *hostname)
{
	struct fbuf in, out;
	struct stat st;
	mode_t mode = 0644;
	int r;

	fbuf_init(&in, CMD_QUICKSTART_CONF_MAX);
	fbuf_init(&out, 0);
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
		if (fsio_read_file(path, &in, CMD_QUICKSTART_CONF_MAX) < 0) {
			fbuf_release(&in);
			return cli_fail("cannot read %s: %s", path,
			    strerror(errno)) * -1;
		}
		cmd_quickstart_set_hostname(&in, hostname, &out);
	} else if (errno == ENOENT)
		cmd_quickstart_new_conf(&out, hostname);
	else
		return cli_fail("%s: %s", path, strerror(errno)) * -1;
	r = fsio_replace_file(path, out.data, out.len, mode);
	if (r < 0)
		cli_fail("cannot write %s: %s", path, strerror(errno));
	fbuf_release(&in);
	fbuf_release(&out);
	return r;
}

/* 16 characters of a 31-letter alphabet without look-alikes (79 bits),
 * from getrandom() without modulo bias. */
static int
cmd_quickstart_password(char *dst, size_t size)
{
	static const char abc[] = "abcdefghjkmnpqrstuvwxyz23456789";
	unsigned char raw[64];
	size_t n = 0;

	while (n + 1 < size && n < 16) {
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			return -1;
		for (size_t i = 0; i < sizeof(raw) && n < 16; i++)
			if (raw[i] < 31 * 8)
				dst[n++] = abc[raw[i] % 31];
	}
	dst[n] = '\0';
	return n == 16 ? 0 : -1;
}

/* Adds a domain unless it exists: 0 or -1 after printing. */
static int
cmd_quickstart_domain(const struct ops_ctx *c, const char *domain)
{
	struct ops_status st;
	char norm[256];

	if (ops_domain_arg(c, domain, norm, sizeof(norm), &st) == 0) {
		printf("domain %s: exists\n", domain);
		return 0;
	}
	if (ops_domain_add(c, domain, &st) < 0)
		return cli_fail("%s", st.text) * -1;
	printf("domain %s: created\n", domain);
	return 0;
}

/* An alias to target unless the address is a user or an alias already. */
static void
cmd_quickstart_alias(const struct cli *cli, const struct ops_ctx *c,
    struct store *s, const char *local, const char *domain,
    const char *target)
{
	struct resolve_result res = { NULL, 0 };
	struct resolve_opts o;
	struct ops_status st;
	char addr[320], tbuf[320];
	char *targets[1] = { tbuf };

	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	snprintf(tbuf, sizeof(tbuf), "%s", target);
	cli_resolve_opts(cli, &o);
	o.delimiter = "";
	if (resolve_rcpt(s, &o, addr, &res) == RESOLVE_UNKNOWN &&
	    ops_alias_add(c, addr, targets, 1, &st) == 0)
		printf("alias %s -> %s\n", addr, target);
	resolve_result_free(&res);
}

/* postmaster@domain with a new password, printed once. */
static int
cmd_quickstart_postmaster(const struct ops_ctx *c, const char *domain,
    char *pw, size_t pwsize)
{
	char addr[320], input[320], hash[256];
	struct ops_status st;

	pw[0] = '\0';
	snprintf(input, sizeof(input), "postmaster@%s", domain);
	if (ops_user_check_new(c, input, addr, sizeof(addr), &st) < 0) {
		if (st.code != OPS_EEXIST)
			return cli_fail("%s", st.text) * -1;
		printf("user %s: exists (password unchanged)\n", input);
		return 0;
	}
	if (cmd_quickstart_password(pw, pwsize) < 0 ||
	    password_hash(pw, hash, sizeof(hash)) < 0)
		return cli_fail("cannot make a password") * -1;
	if (ops_user_add(c, addr, hash, 0, &st) < 0)
		return cli_fail("%s", st.text) * -1;
	printf("user %s: created\n", addr);
	return 0;
}

/* The DKIM record of domain: its active key's, or a new key's. */
static int
cmd_quickstart_dkim(const struct ops_ctx *c, const char *domain,
    struct fbuf *name, struct fbuf *record)
{
	struct ops_dkim_list l;
	struct ops_dkim_key k;
	struct ops_status st;

	if (ops_dkim_list(c, domain, &l, &st) < 0)
		return cli_fail("%s", st.text) * -1;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].active && name->len == 0) {
			fbuf_addf(name, "%s", l.v[i].name);
			fbuf_addf(record, "%s", l.v[i].record);
		}
	ops_dkim_list_free(&l);
	if (name->len > 0) {
		printf("dkim %s: key exists\n", domain);
		return 0;
	}
	if (ops_dkim_keygen(c, domain, NULL, "rsa", 0, &k, &st) < 0)
		return cli_fail("%s", st.text) * -1;
	printf("dkim %s: new %s key, selector %s\n", domain, k.algorithm,
	    k.selector);
	fbuf_addf(name, "%s", k.name);
	fbuf_addf(record, "%s", k.record);
	ops_dkim_key_clear(&k);
	return 0;
}

static void
cmd_quickstart_ports(const struct conf *cf)
{
	const struct {
		const struct conf_listen_list *l;
		const char *what;
	} v[] = {
		{ &cf->smtp_listen, "SMTP from other servers" },
		{ &cf->submission_listen, "submission (STARTTLS + AUTH)" },
		{ &cf->submissions_listen, "submission over TLS" },
		{ &cf->imap_listen, "IMAP" }, { &cf->imaps_listen, "IMAP over TLS" },
		{ &cf->pop3_listen, "POP3" }, { &cf->pop3s_listen, "POP3 over TLS" },
	};

	printf("\nPorts to open (inbound TCP), from the configuration:\n");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (size_t k = 0; k < v[i].l->n; k++)
			printf("  %-5s %s\n", v[i].l->v[k].port, v[i].what);
	printf("  and outbound TCP 25 (remote delivery), UDP/TCP 53 (DNS)\n");
}

static void
cmd_quickstart_dns(const char *domain, const char *host, const char *dkim_name,
    const char *dkim_record)
{
	size_t len = strlen(dkim_record);

	printf("\nDNS records to publish (zone-file form; ADDRESS is this "
	    "server's public IP):\n"
	    "%s. IN A ADDRESS\n"
	    "%s. IN MX 10 %s.\n"
	    "%s. IN TXT \"v=spf1 mx -all\"\n", host, domain, host, domain);
	printf("%s. IN TXT (", dkim_name);
	for (size_t i = 0; i < len; i += 250)
		printf(" \"%.*s\"", (int)(len - i < 250 ? len - i : 250),
		    dkim_record + i);
	printf(" )\n"
	    "_dmarc.%s. IN TXT \"v=DMARC1; p=none; rua=mailto:postmaster@%s\"\n"
	    "_submissions._tcp.%s. IN SRV 0 1 465 %s.\n"
	    "_submission._tcp.%s. IN SRV 0 1 587 %s.\n"
	    "_imaps._tcp.%s. IN SRV 0 1 993 %s.\n"
	    "_pop3s._tcp.%s. IN SRV 0 1 995 %s.\n"
	    "autoconfig.%s. IN CNAME %s.\n"
	    "and the PTR record of ADDRESS (at your hosting provider): %s.\n",
	    domain, domain, domain, host, domain, host, domain, host, domain,
	    host, domain, host, host);
}

/* --hostname, else the configured one when it is a full name, else
 * mail.DOMAIN. */
static void
cmd_quickstart_pick_host(struct cli *cli, const char *opt, const char *domain,
    char *dst, size_t size)
{
	if (opt != NULL) {
		snprintf(dst, size, "%s", opt);
		return;
	}
	conf_defaults(&cli->conf);
	if (access(cli->conf_path, F_OK) == 0) {
		const char *error;

		(void)conf_load(&cli->conf, cli->conf_path, &error);
	}
	if (strchr(cli->conf.hostname, '.') != NULL)
		snprintf(dst, size, "%s", cli->conf.hostname);
	else
		snprintf(dst, size, "mail.%s", domain);
	conf_free(&cli->conf);
}

static int
cmd_quickstart_accounts(struct cli *cli, const char *domain, const char *host)
{
	struct fbuf dkim_name, dkim_rec;
	struct ops_actor a;
	struct ops_ctx c;
	struct store *s;
	char pw[32], pm[320];
	int r = -1;

	if (cli_open_store(cli, &s) < 0)
		return -1;
	cli_ops_ctx(cli, s, &a, &c);
	fbuf_init(&dkim_name, 0);
	fbuf_init(&dkim_rec, 0);
	snprintf(pm, sizeof(pm), "postmaster@%s", domain);
	if (cmd_quickstart_domain(&c, domain) < 0 ||
	    (strcmp(host, domain) != 0 && cmd_quickstart_domain(&c, host) < 0) ||
	    cmd_quickstart_postmaster(&c, domain, pw, sizeof(pw)) < 0)
		goto out;
	cmd_quickstart_alias(cli, &c, s, "abuse", domain, pm);
	if (strcmp(host, domain) != 0) {
		cmd_quickstart_alias(cli, &c, s, "postmaster", host, pm);
		cmd_quickstart_alias(cli, &c, s, "root", host, pm);
	}
	if (cmd_quickstart_dkim(&c, domain, &dkim_name, &dkim_rec) < 0)
		goto out;
	cmd_quickstart_dns(domain, host, dkim_name.data, dkim_rec.data);
	cmd_quickstart_ports(&cli->conf);
	if (pw[0] != '\0')
		printf("\nThe password of %s (shown once; change it with "
		    "`ferry user passwd %s`):\n  %s\n", pm, pm, pw);
	printf("\nNext: publish the records, set a real certificate (tls_cert, "
	    "tls_key), then\n`ferry reload` (or `systemctl reload ferry`); "
	    "docs/quickstart.md has the rest.\n");
	r = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	fbuf_release(&dkim_name);
	fbuf_release(&dkim_rec);
	store_close(&s);
	return r;
}

int
cmd_quickstart(struct cli *cli, int argc, char **argv)
{
	const char *host_opt = NULL, *error;
	char domain[256], want[300], host[256];

	if (argc == 4 && strcmp(argv[2], "--hostname") == 0)
		host_opt = argv[3];
	else if (argc != 2)
		return cli_usage(CMD_QUICKSTART_USAGE);
	if (resolve_parse_domain(argv[1], domain, sizeof(domain), &error) < 0 ||
	    strchr(domain, '.') == NULL)
		return cli_fail("%s: not a domain name", argv[1]);
	cmd_quickstart_pick_host(cli, host_opt, domain, want, sizeof(want));
	if (resolve_parse_domain(want, host, sizeof(host), &error) < 0 ||
	    strchr(host, '.') == NULL)
		return cli_fail("%s: not a full host name", want);
	if (cmd_quickstart_conf(cli->conf_path, host) < 0)
		return 1;
	printf("%s: hostname = %s\n", cli->conf_path, host);
	return cmd_quickstart_accounts(cli, domain, host) < 0 ? 1 : 0;
}
