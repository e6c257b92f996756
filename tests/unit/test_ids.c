/* Unit tests for identifiers: the shape of ids_new, and the random
 * numbers drawn from a per-thread pool (ids_random) never repeated by a
 * forked child, whose cached pid (ids_pid) is its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/ids.h"
#include "test.h"

#define TEST_DRAWS 40	/* more than one pool of 256 bytes holds */

static void
test_shape(void)
{
	char a[IDS_LEN + 1], b[IDS_LEN + 1];

	test_begin("ids shape");
	ids_new(a);
	ids_new(b);
	test_assert(ids_valid(a) && ids_valid(b));
	test_assert(strcmp(a, b) != 0);
	test_assert(!ids_valid("0123456789abcdeF"));
	test_assert(!ids_valid("0123456789abcde"));
	test_end();
}

static void
test_fork(void)
{
	uint64_t parent[TEST_DRAWS], child[TEST_DRAWS];
	pid_t pid, child_pid = 0;
	int fds[2], status = 0, same = 0;
	size_t got = 0;

	test_begin("ids after fork");
	/* The pool and the pid are filled before the fork. */
	(void)ids_random();
	test_assert(ids_pid() == getpid());
	test_assert(pipe(fds) == 0);
	pid = fork();
	test_assert(pid >= 0);
	if (pid == 0) {
		pid_t mine = ids_pid();

		for (size_t i = 0; i < TEST_DRAWS; i++)
			child[i] = ids_random();
		if (write(fds[1], &mine, sizeof(mine)) != sizeof(mine) ||
		    write(fds[1], child, sizeof(child)) != sizeof(child))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	for (size_t i = 0; i < TEST_DRAWS; i++)
		parent[i] = ids_random();
	test_assert(read(fds[0], &child_pid, sizeof(child_pid)) ==
	    sizeof(child_pid));
	while (got < sizeof(child)) {
		ssize_t n = read(fds[0], (char *)child + got,
		    sizeof(child) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	test_assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	test_assert(got == sizeof(child));
	test_assert(child_pid == pid && ids_pid() == getpid());
	/* 64-bit numbers from the CSPRNG: any match is a repeat. */
	for (size_t i = 0; i < TEST_DRAWS; i++)
		for (size_t j = 0; j < TEST_DRAWS; j++)
			if (parent[i] == child[j])
				same++;
	test_assert(same == 0);
	for (size_t i = 1; i < TEST_DRAWS; i++)
		test_assert_idx(parent[i] != parent[i - 1], i);
	test_end();
}

int
main(void)
{
	test_shape();
	test_fork();
	return test_exit();
}
