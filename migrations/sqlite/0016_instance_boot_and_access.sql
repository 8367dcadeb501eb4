-- The kernel and ramdisk an instance boots with, fixed when it is created
-- (as Nova records them): a later change to the image's properties does not
-- change how an existing instance boots, and the API shows them
-- (OS-EXT-SRV-ATTR:kernel_id / ramdisk_id).
ALTER TABLE instances ADD COLUMN kernel_id VARCHAR(36) NULL;
ALTER TABLE instances ADD COLUMN ramdisk_id VARCHAR(36) NULL;
-- accessIPv4 / accessIPv6: addresses the user says reach the server (Nova
-- stores them as given; the network service does not set them).
ALTER TABLE instances ADD COLUMN access_ip_v4 VARCHAR(15) NULL;
ALTER TABLE instances ADD COLUMN access_ip_v6 VARCHAR(39) NULL;
-- Instances created before this migration take their image's current ones.
UPDATE instances SET
    kernel_id = (SELECT p.value FROM image_properties p
                 WHERE p.image_id = instances.image_id AND p.name = 'kernel_id'),
    ramdisk_id = (SELECT p.value FROM image_properties p
                  WHERE p.image_id = instances.image_id AND p.name = 'ramdisk_id');
