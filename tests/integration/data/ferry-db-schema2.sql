-- Made with `ferry domain|user|alias|rule|ban add` by the build before
-- schema 3 (commit fd442b4) and dumped with sqlite3's iterdump; the ban's
-- end was then moved to 2100 so that it is in force when the test runs.
BEGIN TRANSACTION;
CREATE TABLE aliases (  address TEXT NOT NULL PRIMARY KEY,  domain TEXT NOT NULL COLLATE NOCASE    REFERENCES domains (name) ON DELETE CASCADE,  targets TEXT NOT NULL);
INSERT INTO "aliases" VALUES('info@example.org','example.org','alice@example.org');
CREATE TABLE auth_failures (  ip TEXT NOT NULL,  service TEXT NOT NULL,  at INTEGER NOT NULL);
CREATE TABLE bans (  ip TEXT NOT NULL PRIMARY KEY,  created INTEGER NOT NULL,  until INTEGER NOT NULL,  reason TEXT NOT NULL DEFAULT '');
INSERT INTO "bans" VALUES('192.0.2.9',1796426430,4102444800,'manual');
CREATE TABLE domains (  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));
INSERT INTO "domains" VALUES('example.org',1796426428);
CREATE TABLE greylist (  triplet TEXT NOT NULL PRIMARY KEY,  first INTEGER NOT NULL,  last INTEGER NOT NULL);
CREATE TABLE greylist_clients (  net TEXT NOT NULL PRIMARY KEY,  until INTEGER NOT NULL);
CREATE TABLE rules (  id INTEGER PRIMARY KEY AUTOINCREMENT,  domain TEXT NOT NULL COLLATE NOCASE    REFERENCES domains (name) ON DELETE CASCADE,  action TEXT NOT NULL,  kind TEXT NOT NULL,  value TEXT NOT NULL,  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));
INSERT INTO "rules" VALUES(1,'example.org','deny','sender','spam@bad.test',1796426430);
INSERT INTO "rules" VALUES(2,'example.org','skip','check','greylist,dnsbl',1796426430);
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO "schema_version" VALUES(2);
CREATE TABLE users (  address TEXT NOT NULL PRIMARY KEY,  domain TEXT NOT NULL COLLATE NOCASE    REFERENCES domains (name) ON DELETE CASCADE,  password TEXT NOT NULL,  quota INTEGER NOT NULL DEFAULT 0,  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')));
INSERT INTO "users" VALUES('alice@example.org','example.org','$y$j9T$DT8SH/0sprA1EqBsa049.1$XtnbRahwHO/T4/5H/zEC2GddWlxsIoSG8dRGRT1i3Q.',10485760,1796426434);
CREATE INDEX users_domain ON users (domain);
CREATE INDEX aliases_domain ON aliases (domain);
CREATE INDEX auth_failures_ip ON auth_failures (ip, at);
CREATE INDEX auth_failures_at ON auth_failures (at);
CREATE INDEX rules_domain ON rules (domain);
CREATE INDEX greylist_first ON greylist (first);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('rules',2);
COMMIT;
