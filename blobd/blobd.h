#ifndef BERTH_BLOBD_H
#define BERTH_BLOBD_H
#endif
