/* SPDX-License-Identifier: MIT */
/* The exec workload's target: a static glibc program that does nothing. Its start-up
 * (glibc's CPU feature probing issues a few dozen CPUIDs) is the cost being measured. */
int main(void)
{
	return 0;
}
