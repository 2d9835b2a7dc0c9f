package models

import (
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 28.
type (
	shipmentV28 struct {
		ID               int64
		OrgID            int64  `gorm:"not null;uniqueIndex:idx_shipments_number,priority:1;index:idx_shipments_org_state,priority:1"`
		Direction        string `gorm:"size:8;not null;uniqueIndex:idx_shipments_number,priority:2"`
		NumberYear       int    `gorm:"not null;uniqueIndex:idx_shipments_number,priority:3"`
		NumberSeq        int    `gorm:"not null;uniqueIndex:idx_shipments_number,priority:4"`
		Ref              string `gorm:"size:16;not null;uniqueIndex:idx_shipments_ref"`
		State            string `gorm:"size:16;not null;index:idx_shipments_org_state,priority:2;index:idx_shipments_state"`
		Unannounced      bool   `gorm:"not null;default:false"`
		Carrier          string `gorm:"size:100;not null;default:''"`
		Tracking         string `gorm:"size:64;not null;default:'';index:idx_shipments_tracking"`
		Parcels          int    `gorm:"not null;default:0"`
		ExpectedOn       *time.Time
		Contents         string `gorm:"type:text;not null"`
		Cabinet          string `gorm:"size:40;not null;default:''"`
		Method           string `gorm:"size:16;not null;default:''"`
		RequestedBy      *int64
		ArrivedAt        *time.Time `gorm:"index:idx_shipments_arrived"`
		ReceivedBy       *int64
		ParcelsReceived  int    `gorm:"not null;default:0"`
		StoragePlace     string `gorm:"size:100;not null;default:''"`
		Condition        string `gorm:"size:16;not null;default:''"`
		ConditionNote    string `gorm:"type:text;not null"`
		PhotoKey         string `gorm:"size:100;not null;default:''"`
		PhotoName        string `gorm:"size:200;not null;default:''"`
		PhotoType        string `gorm:"size:40;not null;default:''"`
		PhotoSize        int64  `gorm:"not null;default:0"`
		PhotoSHA256      string `gorm:"column:photo_sha256;size:64;not null;default:''"`
		HeldNoticeAt     *time.Time
		CollectedAt      *time.Time
		CollectorID      *int64
		DeliveredBy      *int64
		HandedBy         *int64
		HandedToName     string `gorm:"size:100;not null;default:''"`
		HandedToCompany  string `gorm:"size:100;not null;default:''"`
		HandedToIDType   string `gorm:"column:handed_to_id_type;size:24;not null;default:''"`
		HandedToIDSealed string `gorm:"column:handed_to_id_sealed;size:255;not null;default:''"`
		HandedToIDMasked string `gorm:"column:handed_to_id_masked;size:40;not null;default:''"`
		OutTracking      string `gorm:"size:64;not null;default:''"`
		CancelledAt      *time.Time
		EndedAt          *time.Time `gorm:"index:idx_shipments_ended"`
		PurgedAt         *time.Time
		CreatedAt        time.Time
		UpdatedAt        time.Time
		Org              *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
	}
	shipmentPersonV28 struct {
		ID          int64
		ShipmentID  int64  `gorm:"not null;index:idx_shipment_people_shipment,priority:1"`
		OrgID       int64  `gorm:"not null"`
		Seq         int    `gorm:"not null;index:idx_shipment_people_shipment,priority:2"`
		Name        string `gorm:"size:100;not null"`
		Company     string `gorm:"size:100;not null;default:''"`
		IDType      string `gorm:"column:id_type;size:24;not null"`
		IDSealed    string `gorm:"column:id_sealed;size:255;not null;default:''"`
		IDMasked    string `gorm:"column:id_masked;size:40;not null;default:''"`
		PhoneSealed string `gorm:"size:255;not null;default:''"`
		PhoneMasked string `gorm:"size:40;not null;default:''"`
		PurgedAt    *time.Time
		Shipment    *shipmentV28 `gorm:"foreignKey:ShipmentID;constraint:OnDelete:CASCADE"`
	}
)

func (shipmentV28) TableName() string       { return "shipments" }
func (shipmentPersonV28) TableName() string { return "shipment_people" }

// migrateShipments adds inbound and outbound shipments (parcels reception
// keeps for a customer, equipment handed out) and the people who may
// collect them, identity numbers and phones sealed.
func migrateShipments(tx *gorm.DB) error {
	return createTables(tx, &shipmentV28{}, &shipmentPersonV28{})
}
