/* Maildir++ mailboxes at state_dir/mail/DOMAIN/USER/ (lower-case):
 * tmp/ new/ cur/, ".Folder" subfolders, and the `maildirsize` quota file
 * (Maildir++ quota: first line "<bytes>S", then "<bytes> <count>" lines),
 * compatible with Dovecot and Courier tools.  Delivery writes tmp/,
 * fdatasyncs, counts the message in maildirsize (users with a quota),
 * renames it into new/ under a unique name without ever overwriting,
 * and fsyncs new/.  Blocking: worker threads only. */
#ifndef FERRY_MAILDIR_H
#define FERRY_MAILDIR_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Path of a user's Maildir: state_dir/mail/<domain>/<local>. 0 or -1. */
int maildir_path(const char *state_dir, const char *address, char *dst,
    size_t size);
/* Creates the Maildir (tmp, new, cur) if missing; 0 or -1. */
int maildir_create(const char *path);
/* Current usage from maildirsize (0/0 if the file is absent; recomputed
 * from the directories when the file is missing but mail exists).
 * 0 or -1. */
int maildir_quota_usage(const char *path, uint64_t *bytes_r,
    uint64_t *count_r);
/* Delivers one message: `prefix` (headers added at delivery, may be
 * empty) then the content of file src_fd from offset 0.  quota: the
 * user's limit in bytes (0 = none; -1 with errno EDQUOT when over it),
 * written as the maildirsize header.  On success the new file's name is
 * copied to name_r (may be NULL).  0 or -1 with errno. */
int maildir_deliver(const char *path, const char *prefix, size_t prefix_len,
    int src_fd, uint64_t quota, char *name_r, size_t name_size);
/* maildir_deliver into dir, a folder of the Maildir at path (its
 * Maildir++ directory, created when missing), counted in path's quota. */
int maildir_deliver_in(const char *path, const char *dir, const char *prefix,
    size_t prefix_len, int src_fd, uint64_t quota, char *name_r,
    size_t name_size);

/* For IMAP APPEND and COPY: checks that bytes more fit the quota
 * (0 = none: nothing to do) and counts them with count messages in
 * maildirsize.  0, or -1 with errno (EDQUOT when over quota). */
int maildir_quota_reserve(const char *path, uint64_t quota, uint64_t bytes,
    uint64_t count);
/* Takes bytes and count back out of maildirsize (expunges, a failed
 * append); nothing when the file is absent (it is then recalculated). */
void maildir_quota_release(const char *path, uint64_t bytes,
    uint64_t count);
/* A new unique base name "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>"
 * (delivery's own scheme, thread-safe). */
void maildir_name_new(char *dst, size_t size, uint64_t msize);

/* maildir_deliver of a message for rcpt from sender, with the headers a
 * final delivery adds in front: "Return-Path: <sender>" and
 * "Delivered-To: rcpt" (control bytes in either value dropped, so no
 * envelope value can start a header of its own).  Both local delivery
 * paths use it: smtpd's direct delivery and the queue role.  dir: a
 * folder's directory (spam_folder), NULL for INBOX. */
int maildir_deliver_mail(const char *path, const char *dir,
    const char *sender, const char *rcpt, int src_fd, uint64_t quota);
/* maildir_deliver_mail of a content that lacks ins_len octets at offset
 * at (at most the file's size; -1 with EINVAL past it): the delivered
 * message is src_fd's first at octets, ins, then the rest, as if the
 * file held them (smtpd's direct delivery puts the headers of its end-
 * of-DATA checks after its Received field this way, instead of
 * rewriting the spool file).  The quota and the S= size count them. */
int maildir_deliver_mail_ins(const char *path, const char *dir,
    const char *sender, const char *rcpt, int src_fd, uint64_t at,
    const char *ins, size_t ins_len, uint64_t quota);
/* maildir_deliver_mail under a name made from key (the queue's "<id>R<n>",
 * no '/' or ':') and `when`, the same on every attempt: a delivery that
 * is already in new/ (or in cur/ unflagged or only \Seen) is not made
 * again, and the rename into new/ never replaces one.  For the queue,
 * whose crash between a delivery and the envelope update would otherwise
 * deliver twice.  0 (delivered now or before) or -1 with errno. */
int maildir_deliver_mail_once(const char *path, const char *dir,
    const char *sender, const char *rcpt, int src_fd, uint64_t quota,
    const char *key, time_t when);

/* The maildirsize text (NUL-ended): the quota of its header and the
 * summed bytes and count of its lines (negative sums read as 0).  0, or
 * -1 when it is not well formed.  Exposed for tests and fuzzing. */
int maildir_size_parse(const char *text, uint64_t *quota_r,
    uint64_t *bytes_r, uint64_t *count_r);

#endif
