/* Unit tests for folders (src/mailbox/mbox_folder.c): the special-use
 * folders of a new user, create (parents, fresh UIDVALIDITY), delete
 * (children refused, INBOX refused), rename with children keeping UIDs,
 * subscriptions in Dovecot's file, the list with its attributes, and
 * hostile names never creating anything outside the Maildir. */
#include "mbox_fixture.h"
#include "mailbox/uidlist.h"
#include "test.h"

static const struct mbox_folder_info *
find_info(const struct mbox_folder_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void
test_new_user(void)
{
	struct mbox_service *svc = mbox_service_create(NULL);
	struct mbox_folder_list l;
	struct mbox_user *u;
	struct mbox_error err;
	char path[4096];
	const struct mbox_folder_info *f;

	test_begin("mbox_folder: new user gets special-use folders once");
	fx_maildir(path, sizeof(path));
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(fx_exists(path, ".Sent/cur") && fx_exists(path,
	    ".Drafts/new") && fx_exists(path, ".Junk/tmp") &&
	    fx_exists(path, ".Trash/cur") && fx_exists(path, ".Archive/cur"));
	test_assert(fx_exists(path, ".Sent/maildirfolder"));
	test_assert(mbox_folder_list(u, &l, &err) == 0);
	test_assert(l.n == 6 && strcmp(l.v[0].name, "INBOX") == 0);
	f = find_info(&l, "Sent");
	test_assert(f != NULL && f->special == MBOX_SPECIAL_SENT &&
	    (f->flags & MBOX_FOLDER_F_SUBSCRIBED) &&
	    !(f->flags & MBOX_FOLDER_F_HASCHILDREN));
	f = find_info(&l, "Junk");
	test_assert(f != NULL && f->special == MBOX_SPECIAL_JUNK);
	f = find_info(&l, "Archive");
	test_assert(f != NULL && f->special == MBOX_SPECIAL_ARCHIVE);
	mbox_folder_list_free(&l);
	/* Deleted by the user: not made again at the next open. */
	test_assert(mbox_folder_delete(u, "Junk", &err) == 0);
	mbox_user_close(&u);
	test_assert(u == NULL);
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(!fx_exists(path, ".Junk"));
	test_assert(mbox_folder_list(u, &l, &err) == 0);
	f = find_info(&l, "Junk");
	/* Still subscribed (subscriptions outlive folders, RFC 3501). */
	test_assert(f != NULL && (f->flags & MBOX_FOLDER_F_NONEXISTENT));
	mbox_folder_list_free(&l);
	mbox_user_close(&u);
	mbox_service_free(&svc);
	fx_done(path);
	test_end();
}

static void
test_create_delete(void)
{
	struct mbox_service *svc = mbox_service_create(NULL);
	struct mbox_folder_list l;
	struct mbox_status st1, st2;
	struct mbox_user *u;
	struct mbox_error err;
	char path[4096];
	const struct mbox_folder_info *f;

	test_begin("mbox_folder: create with parents, delete, UIDVALIDITY");
	fx_maildir(path, sizeof(path));
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(mbox_folder_create(u, "Work/2024/Q1", MBOX_SPECIAL_NONE,
	    &err) == 0);
	test_assert(fx_exists(path, ".Work/cur") &&
	    fx_exists(path, ".Work.2024/cur") &&
	    fx_exists(path, ".Work.2024.Q1/cur"));
	test_assert(mbox_folder_create(u, "Work", MBOX_SPECIAL_NONE,
	    &err) == -1 && err.code == MBOX_ERR_EXISTS);
	test_assert(mbox_folder_create(u, "inbox", MBOX_SPECIAL_NONE,
	    &err) == -1 && err.code == MBOX_ERR_EXISTS);
	test_assert(mbox_folder_create(u, "Entwürfe", MBOX_SPECIAL_DRAFTS,
	    &err) == 0 && fx_exists(path, ".Entw&APw-rfe/cur"));
	test_assert(mbox_folder_list(u, &l, &err) == 0);
	f = find_info(&l, "Work");
	test_assert(f != NULL && (f->flags & MBOX_FOLDER_F_HASCHILDREN));
	f = find_info(&l, "Work/2024/Q1");
	test_assert(f != NULL && !(f->flags & MBOX_FOLDER_F_HASCHILDREN) &&
	    !(f->flags & MBOX_FOLDER_F_SUBSCRIBED));
	f = find_info(&l, "Entwürfe");
	test_assert(f != NULL && f->special == MBOX_SPECIAL_DRAFTS);
	mbox_folder_list_free(&l);
	test_assert(mbox_folder_delete(u, "Work", &err) == -1 &&
	    err.code == MBOX_ERR_NOTALLOWED);
	test_assert(mbox_folder_delete(u, "INBOX", &err) == -1 &&
	    err.code == MBOX_ERR_NOTALLOWED);
	test_assert(mbox_folder_delete(u, "Nope", &err) == -1 &&
	    err.code == MBOX_ERR_NOTFOUND);
	/* Deleted and made again: a new UIDVALIDITY, even in one second. */
	test_assert(mbox_folder_status(u, "Work/2024/Q1", &st1, &err) == 0);
	test_assert(mbox_folder_delete(u, "Work/2024/Q1", &err) == 0);
	test_assert(!fx_exists(path, ".Work.2024.Q1"));
	test_assert(!mbox_folder_exists(u, "Work/2024/Q1"));
	test_assert(mbox_folder_status(u, "Work/2024/Q1", &st2, &err) == -1 &&
	    err.code == MBOX_ERR_NOTFOUND);
	test_assert(mbox_folder_create(u, "Work/2024/Q1", MBOX_SPECIAL_NONE,
	    &err) == 0);
	test_assert(mbox_folder_status(u, "Work/2024/Q1", &st2, &err) == 0);
	test_assert(st2.uidvalidity != st1.uidvalidity);
	test_assert(fx_count(path, "tmp") == 0);
	mbox_user_close(&u);
	mbox_service_free(&svc);
	fx_done(path);
	test_end();
}

static void
test_rename(void)
{
	struct mbox_service *svc = mbox_service_create(NULL);
	struct mbox_folder_list l;
	struct mbox_status st1, st2;
	struct mbox_user *u;
	struct mbox_error err;
	char path[4096];
	const struct mbox_folder_info *f;

	test_begin("mbox_folder: rename with children keeps UIDs and use");
	fx_maildir(path, sizeof(path));
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(mbox_folder_create(u, "A/B", MBOX_SPECIAL_NONE, &err) == 0);
	test_assert(mbox_folder_subscribe(u, "A/B", true, &err) == 0);
	fx_put(path, ".A.B/new", "1000.M1P1.h", "Subject: x\n\nbody\n");
	test_assert(mbox_folder_status(u, "A/B", &st1, &err) == 0);
	test_assert(st1.messages == 1 && st1.recent == 1 && st1.unseen == 1);
	test_assert(mbox_folder_rename(u, "A", "C/D", &err) == 0);
	test_assert(!fx_exists(path, ".A") && !fx_exists(path, ".A.B"));
	test_assert(fx_exists(path, ".C/cur") && fx_exists(path, ".C.D/cur") &&
	    fx_exists(path, ".C.D.B/new/1000.M1P1.h"));
	test_assert(mbox_folder_status(u, "C/D/B", &st2, &err) == 0);
	test_assert(st2.uidvalidity == st1.uidvalidity && st2.messages == 1 &&
	    st2.uidnext == st1.uidnext);
	test_assert(mbox_folder_list(u, &l, &err) == 0);
	f = find_info(&l, "C/D/B");
	test_assert(f != NULL && (f->flags & MBOX_FOLDER_F_SUBSCRIBED));
	test_assert(find_info(&l, "A/B") == NULL);
	mbox_folder_list_free(&l);
	test_assert(mbox_folder_rename(u, "Sent", "Sent Items", &err) == 0);
	test_assert(mbox_folder_list(u, &l, &err) == 0);
	f = find_info(&l, "Sent Items");
	test_assert(f != NULL && f->special == MBOX_SPECIAL_SENT);
	mbox_folder_list_free(&l);
	test_assert(mbox_folder_rename(u, "INBOX", "Old", &err) == -1 &&
	    err.code == MBOX_ERR_NOTALLOWED);
	test_assert(mbox_folder_rename(u, "C", "C/x", &err) == -1 &&
	    err.code == MBOX_ERR_BADNAME);
	test_assert(mbox_folder_rename(u, "Drafts", "Trash", &err) == -1 &&
	    err.code == MBOX_ERR_EXISTS);
	test_assert(mbox_folder_rename(u, "Nope", "Z", &err) == -1 &&
	    err.code == MBOX_ERR_NOTFOUND);
	mbox_user_close(&u);
	mbox_service_free(&svc);
	fx_done(path);
	test_end();
}

static void
test_subscribe(void)
{
	struct mbox_service *svc = mbox_service_create(NULL);
	struct mbox_user *u;
	struct mbox_error err;
	char path[4096], file[4200];
	struct fbuf b;

	test_begin("mbox_folder: subscriptions file as Dovecot reads it");
	fx_maildir(path, sizeof(path));
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	test_assert(mbox_folder_subscribe(u, "Entwürfe/x", true, &err) == 0);
	test_assert(mbox_folder_subscribe(u, "Sent", false, &err) == 0);
	test_assert(mbox_folder_subscribe(u, "Sent", false, &err) == 0);
	test_assert(mbox_folder_subscribe(u, "../x", true, &err) == -1 &&
	    err.code == MBOX_ERR_BADNAME);
	snprintf(file, sizeof(file), "%s/subscriptions", path);
	fbuf_init(&b, 0);
	test_assert(fsio_read_file(file, &b, 65536) == 0);
	test_assert(strstr(fbuf_str(&b), "Entw&APw-rfe.x\n") != NULL);
	test_assert(strstr(fbuf_str(&b), "Sent\n") == NULL);
	test_assert(strstr(fbuf_str(&b), "INBOX\n") != NULL);
	fbuf_release(&b);
	mbox_user_close(&u);
	mbox_service_free(&svc);
	fx_done(path);
	test_end();
}

static const char *const hostile[] = {
	"../evil", "..", "a/../../evil", "/etc", ".evil", "a/.evil", "a\nb",
	"x/", "", "%", "a.b", "\xc0\xae\xc0\xae",
};

static void
test_hostile(void)
{
	struct mbox_service *svc = mbox_service_create(NULL);
	struct mbox_user *u;
	struct mbox_error err;
	struct mbox_view *v;
	char path[4096], parent[4200];
	int before, before_parent;

	test_begin("mbox_folder: hostile names create nothing anywhere");
	fx_maildir(path, sizeof(path));
	snprintf(parent, sizeof(parent), "%s/..", path);
	test_assert(mbox_user_open(svc, path, 0, &u, &err) == 0);
	before = fx_count(path, ".");
	before_parent = fx_count(parent, ".");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(*hostile); i++) {
		test_assert_idx(mbox_folder_create(u, hostile[i],
		    MBOX_SPECIAL_NONE, &err) == -1 &&
		    err.code == MBOX_ERR_BADNAME, i);
		test_assert_idx(mbox_folder_delete(u, hostile[i], &err) == -1,
		    i);
		test_assert_idx(mbox_folder_rename(u, "Sent", hostile[i],
		    &err) == -1, i);
		test_assert_idx(mbox_view_open(u, hostile[i], false, &v,
		    &err) == -1 && v == NULL, i);
	}
	test_assert(fx_count(path, ".") == before);
	test_assert(fx_count(parent, ".") == before_parent);
	test_assert(fx_exists(path, ".Sent/cur"));
	mbox_user_close(&u);
	mbox_service_free(&svc);
	fx_done(path);
	test_end();
}

int
main(void)
{
	test_new_user();
	test_create_delete();
	test_rename();
	test_subscribe();
	test_hostile();
	return test_exit();
}
