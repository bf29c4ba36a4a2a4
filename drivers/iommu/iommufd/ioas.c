// SPDX-License-Identifier: GPL-2.0
/*
 * IOAS objects: I/O address spaces that userspace maps memory into and
 * attaches devices and HW pagetables to.
 */
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

/**
 * struct iommufd_ioas - An I/O address space
 * @obj: The object header
 */
struct iommufd_ioas {
	struct iommufd_object obj;
};

static_assert(offsetof(struct iommufd_ioas, obj) == 0);

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_object_alloc(ucmd->ictx, ioas, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_abort;
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;

err_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
	return rc;
}
