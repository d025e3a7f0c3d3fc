-- AlterTable
ALTER TABLE "Run" ADD COLUMN "imageDigest" TEXT;
