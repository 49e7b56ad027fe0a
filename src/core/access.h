/*-------------------------------------------------------------------------
 *
 * access.h
 *	  The privilege and row-level security check every function that reads
 *	  the store's input tables in C makes before it reads them.
 *
 * src/core/access.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECPOWER_ACCESS_H
#define ECPOWER_ACCESS_H

/* the input tables, as a bit mask */
#define ECP_INPUT_CUSTOMERS		0x01
#define ECP_INPUT_PRODUCTS		0x02
#define ECP_INPUT_ORDERS		0x04
#define ECP_INPUT_ORDER_LINES	0x08
#define ECP_INPUT_ALL			0x0F

extern void ecp_check_input_access(int tables);

#endif							/* ECPOWER_ACCESS_H */
